import { describe, expect, it } from 'vitest';
import { launch } from 'ddprun';

describe('job control', () => {
  it('listens for Ctrl-Z (SIGTSTP) only while a launch runs, and not at all with handleSignals: false', async () => {
    expect(process.listenerCount('SIGTSTP')).toBe(0);
    const handle = launch({ entry: { command: 'sleep', args: ['0.2'] }, console: false });
    const during = await new Promise<number>((resolve) =>
      handle.on('started', () => resolve(process.listenerCount('SIGTSTP'))),
    );
    expect(during).toBe(1);
    await handle.result;
    expect(process.listenerCount('SIGTSTP')).toBe(0);
    const quiet = launch({ entry: { command: 'sleep', args: ['0.2'] }, console: false, handleSignals: false });
    const duringQuiet = await new Promise<number>((resolve) =>
      quiet.on('started', () => resolve(process.listenerCount('SIGTSTP'))),
    );
    expect(duringQuiet).toBe(0);
    await quiet.result;
  });
});
