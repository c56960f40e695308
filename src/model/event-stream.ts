import type { LaunchEvents } from './types.js';

// One run, one stream: producers publish typed events; every consumer is a sink of the stream (the run store's
// recorder, the console, the `--json` writer, the library handle's EventEmitter, the attempt's monitor). A new event
// is one more entry in `LaunchEvents`: every sink that takes all events gets it with no change.

/** The name of an event of the stream. */
export type EventName = keyof LaunchEvents;

/** The payload of event `K`. */
export type EventPayload<K extends EventName = EventName> = LaunchEvents[K][0];

/** A consumer of the stream. */
export interface EventSink {
  /** Whether it takes `name` events; asked per event, so a hot path builds no event nobody takes. */
  wants(name: EventName): boolean;
  /** One event, in stream order; `t`: when it was published (ms since the epoch), the same for every sink. */
  write(name: EventName, payload: EventPayload, t: number): void;
}

/** What producers see of the stream. */
export interface EventPublisher {
  publish<K extends EventName>(name: K, payload: EventPayload<K>): void;
  /** Whether any sink takes `name` events now. */
  wants(name: EventName): boolean;
}
