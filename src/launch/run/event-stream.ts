import { EventEmitter } from 'node:events';
import type { EventName, EventPayload, EventPublisher, EventSink } from '../../model/event-stream.js';
import type { LaunchEvents } from '../../model/types.js';

/**
 * A launch's one ordered stream of events: each `publish` reaches every sink that wants it, in the order the sinks
 * were added, with one timestamp. The producers know no sink; no sink knows another.
 */
export class EventStream implements EventPublisher {
  // Replaced, never changed in place: a sink added or removed while an event is heard does not change who hears it.
  private sinks: readonly EventSink[];
  private delivering = false;
  private readonly pending: [EventName, EventPayload, number][] = [];

  constructor(sinks: readonly EventSink[] = []) {
    this.sinks = [...sinks];
  }

  /** Adds a sink (it hears the events published from now on); returns the function that removes it. */
  add(sink: EventSink): () => void {
    this.sinks = [...this.sinks, sink];
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  wants(name: EventName): boolean {
    for (const sink of this.sinks) if (sink.wants(name)) return true;
    return false;
  }

  /**
   * Delivers the event to every sink that wants it. An event published while one is being delivered (a listener that
   * stops the launch on `exited`) waits until that one reached every sink: each sink hears the same order.
   */
  publish<K extends EventName>(name: K, payload: EventPayload<K>): void {
    const t = Date.now();
    if (this.delivering) {
      this.pending.push([name, payload, t]);
      return;
    }
    this.delivering = true;
    try {
      this.deliver(name, payload, t);
      for (let next = this.pending.shift(); next; next = this.pending.shift()) this.deliver(...next);
    } finally {
      this.delivering = false;
      this.pending.length = 0;
    }
  }

  private deliver(name: EventName, payload: EventPayload, t: number): void {
    for (const sink of this.sinks) if (sink.wants(name)) sink.write(name, payload, t);
  }
}

/** The library handle's `.on()`: a sink that emits each event to the listeners of its name, if any. */
export class EmitterSink implements EventSink {
  readonly emitter = new EventEmitter<LaunchEvents>();

  wants(name: EventName): boolean {
    return this.emitter.listenerCount(name) > 0;
  }

  write(name: EventName, payload: EventPayload): void {
    (this.emitter.emit as (name: string, payload: unknown) => boolean)(name, payload);
  }
}
