import { describe, expect, it } from 'vitest';
import { LaunchLoop, type LaunchState } from '../../src/launch/run/launch-state.js';

/** A loop walked through `states` from preparing. */
function walked(...states: LaunchState[]): LaunchLoop {
  const loop = new LaunchLoop();
  for (const state of states) loop.to(state);
  return loop;
}

describe('LaunchState: the launch loop', () => {
  it('walks preparing → rendezvous → running → restarting → rendezvous → running → done, counting attempts', () => {
    const loop = walked('rendezvous', 'running');
    loop.restart();
    expect([loop.state, loop.attempt, loop.portRetries]).toEqual(['restarting', 1, 0]);
    loop.to('rendezvous');
    loop.to('running');
    loop.retryPort();
    expect([loop.state, loop.attempt, loop.portRetries]).toEqual(['restarting', 1, 1]);
    loop.to('rendezvous');
    loop.to('running');
    loop.to('done');
    expect(loop.state).toBe('done');
  });

  it('lets torchrun go from preparing to running (its agent meets the nodes), and refuses steps the table lacks', () => {
    expect(walked('running').state).toBe('running');
    expect(() => walked('running', 'rendezvous')).toThrow('internal: a launch cannot go from running to rendezvous');
    expect(() => walked('restarting')).toThrow('from preparing to restarting');
    expect(() => walked('done', 'running')).toThrow('from done to running');
    expect(() => walked('rendezvous').restart()).toThrow('from rendezvous to restarting');
  });

  it('a stop holds the loop in stopping until done: the first sets the signals, a second one kills', () => {
    const loop = walked('rendezvous', 'running');
    expect(loop.stop('SIGINT', 'SIGUSR1')).toBe(true);
    expect(loop.stop('SIGTERM', 'SIGTERM')).toBe(false);
    expect([loop.state, loop.stopSignal, loop.rankSignal, loop.stops, loop.stopping]).toEqual([
      'stopping',
      'SIGINT',
      'SIGUSR1',
      2,
      true,
    ]);
    // Whatever step the loop was about to take, it stays stopping; only done ends it.
    loop.to('restarting');
    loop.to('running');
    expect(loop.state).toBe('stopping');
    loop.to('done');
    expect(loop.state).toBe('done');
  });

  it('a reader that went away stops the loop without counting as a stop: a later real one is the first', () => {
    const loop = walked('rendezvous', 'running');
    expect(loop.readerGone('SIGPIPE', 'SIGTERM')).toBe(true);
    expect(loop.readerGone('SIGHUP', 'SIGTERM')).toBe(false);
    expect([loop.state, loop.stopSignal, loop.stops]).toEqual(['stopping', 'SIGPIPE', 0]);
    expect(loop.stop('SIGINT', 'SIGINT')).toBe(true);
    expect([loop.stopSignal, loop.rankSignal]).toEqual(['SIGPIPE', 'SIGTERM']);
  });
});
