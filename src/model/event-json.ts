// The one serialiser of events: a `--json` line and an `events.jsonl` record of the same event are the same text.

/** Version of the event lines (`v`); add fields freely, bump it to rename or remove one. */
export const EVENT_SCHEMA = 1;

/**
 * `{"v":1,"t":"<ISO time>","event":"<name>",…payload}` and a newline. `t`: when the event was published (`t`, ms since
 * the epoch), unless the payload has a `t` of its own (an `epoch` or `metric` event: when ddprun read that row or
 * value), which is kept. A payload that is not an object is kept under `data`; `v` and `event` win over payload
 * fields of the same name. A payload JSON cannot hold (a cycle, a BigInt) gives the head and `unrecorded`: the reason.
 */
export function eventJson(name: string, payload: unknown, t: number): string {
  const head = { v: EVENT_SCHEMA, t: new Date(t).toISOString(), event: name };
  const body =
    payload === undefined
      ? {}
      : typeof payload === 'object' && payload !== null && !Array.isArray(payload)
        ? payload
        : { data: payload };
  const own = (body as { t?: unknown }).t;
  const fixed = typeof own === 'string' ? { v: EVENT_SCHEMA, t: own, event: name } : head;
  try {
    return `${JSON.stringify(Object.assign({ ...fixed }, body, fixed))}\n`;
  } catch (error) {
    return `${JSON.stringify({ ...head, unrecorded: (error as Error).message })}\n`;
  }
}
