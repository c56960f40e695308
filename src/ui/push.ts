/** Sends one server-sent event (`event:` and its JSON `data:`) to a dashboard client. */
export type Push = (event: string, data: unknown) => void;
