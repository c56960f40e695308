import { describe, expect, it } from 'vitest';
import { launch } from 'ddprun';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const counts = () => SIGNALS.map((s) => process.listenerCount(s));

describe('process-wide side effects', () => {
  it('installs nothing on import, signal handlers only while a launch runs, and removes them when it settles', async () => {
    const before = counts();
    expect(before).toEqual([0, 0, 0]);
    const exitHooks = process.listenerCount('exit');
    const handle = launch({ entry: { command: 'sleep', args: ['0.2'] }, nprocPerNode: 2, console: false });
    const during = await new Promise<number[]>((resolve) => handle.on('started', () => resolve(counts())));
    expect(during).toEqual([1, 1, 1]);
    expect((await handle.result).exitCode).toBe(0);
    expect(counts()).toEqual(before);
    expect(process.listenerCount('exit')).toBe(exitHooks);
  });

  it('stops the ranks when the AbortSignal aborts, with exit code 143', async () => {
    const controller = new AbortController();
    const handle = launch({
      entry: { command: 'sleep', args: ['30'] },
      nprocPerNode: 2,
      console: false,
      signal: controller.signal,
    });
    handle.on('started', ({ rank }) => rank === 1 && controller.abort());
    const result = await handle.result;
    expect(result).toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
    expect(result.ranks.map((r) => r.signal)).toEqual(['SIGTERM', 'SIGTERM']);
  });
});
