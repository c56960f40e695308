import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeriodicThinning } from '../../src/store/periodic-thinning.js';

beforeEach(() => vi.useFakeTimers({ now: 0 }));
afterEach(() => vi.useRealTimers());

/** Offers one `name` event a second for `seconds`, each line naming its second; returns what was written. */
function offerEverySecond(thinning: PeriodicThinning, name: string, seconds: number, written: string[]): void {
  for (let s = 0; s < seconds; s++) {
    expect(thinning.offer(name, `${name} ${s}\n`)).toBe(true);
    vi.advanceTimersByTime(1000);
  }
  expect(written.length).toBeGreaterThan(0);
}

describe('the record of periodic events', () => {
  it('keeps every resources event for 10 min, then one per 10 s, then one a minute: 1 h 30 min at 1/s is 930 lines', () => {
    const written: string[] = [];
    const thinning = new PeriodicThinning((line) => written.push(line));
    offerEverySecond(thinning, 'resources', 90 * 60, written);
    thinning.flush();
    const second = (line: string) => Number(line.split(' ')[1]);
    const within = (from: number, to: number) => written.filter((l) => second(l) >= from && second(l) < to).length;
    // Every one in the first 10 min, one per 10 s in the next 50 min, one a minute after that, the newest at the end.
    expect([within(0, 600), within(600, 3600), within(3600, 5400)]).toEqual([600, 300, 31]);
    expect(written.slice(0, 3)).toEqual(['resources 0\n', 'resources 1\n', 'resources 2\n']);
    expect(written.at(-1)).toBe(`resources ${90 * 60 - 1}\n`);
  });

  it('writes the latest held event once its interval is over, and at the end', () => {
    const written: string[] = [];
    const thinning = new PeriodicThinning((line) => written.push(line), {
      schedule: [{ untilMs: Infinity, everyMs: 10_000 }],
    });
    thinning.offer('progress', 'p1\n');
    thinning.offer('progress', 'p2\n');
    thinning.offer('progress', 'p3\n');
    expect(written).toEqual(['p1\n']);
    vi.advanceTimersByTime(10_000);
    expect(written).toEqual(['p1\n', 'p3\n']);
    thinning.offer('progress', 'p4\n');
    thinning.flush();
    expect(written).toEqual(['p1\n', 'p3\n', 'p4\n']);
  });

  it('stops recording periodic events at the byte cap, and never takes any other event', () => {
    const written: string[] = [];
    const thinning = new PeriodicThinning((line) => written.push(line), { maxBytes: 25 });
    expect(thinning.offer('exited', 'x\n')).toBe(false);
    offerEverySecond(thinning, 'resources', 10, written);
    expect(written).toEqual(['resources 0\n', 'resources 1\n']);
  });
});
