import type { EventEmitter } from 'node:events';

export type EveryEventListener = (name: string | symbol, args: readonly unknown[]) => void;

/**
 * Hears every event `emitter` emits, whatever its name, before its own listeners do: an event added to
 * `LaunchEvents` later reaches the store with no change here. Returns the function that stops listening.
 */
export function onEveryEvent(emitter: EventEmitter, listener: EveryEventListener): () => void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the emitter as `this`
  const original = emitter.emit;
  const wrapped = function (this: EventEmitter, name: string | symbol, ...args: unknown[]): boolean {
    try {
      listener(name, args);
    } catch {
      // A recorder's trouble never reaches the launch.
    }
    return original.call(this, name, ...args);
  };
  emitter.emit = wrapped as EventEmitter['emit'];
  return () => {
    if (emitter.emit === wrapped) emitter.emit = original;
  };
}
