import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { until } from '../helpers/procs.js';
import { FIXTURES } from '../helpers/python.js';

export const INSIGHT = path.join(FIXTURES, 'insight');
export const fixture = (name: string) => path.join(INSIGHT, name);

/** The number of the first line of fixtures/insight/hang.py that contains `text`. */
export const hangLine = (text: string): number =>
  readFileSync(fixture('hang.py'), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(text)) + 1;

/** `ddprun` arguments that run hang.py on `ranks` ranks: rank 0 sleeps in `sleepy_step`, rank 1 waits in a barrier. */
export const hangJob = (python: string, ranks = 2): string[] => [
  ...['--nproc-per-node', String(ranks), '--python', python],
  fixture('hang.py'),
];

/** Polls until `PIDS/<rank>` holds a pid (the fixture writes it first thing). */
export function rankPid(pids: string, rank: number, timeoutMs = 60_000): Promise<number> {
  const file = path.join(pids, String(rank));
  const written = () => {
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
    return pid > 0 && pid;
  };
  return until(`rank ${rank} to write its pid into ${pids}`, written, { timeoutMs, everyMs: 20 });
}

/** Lets the failing rank of `wait_then.py` go on. */
export function go(pids: string): void {
  writeFileSync(path.join(pids, 'go'), '');
}

const CGROUP_V1_MEMORY = '/sys/fs/cgroup/memory';

/** Whether this machine lets a test create a cgroup-v1 memory cgroup (root, memory controller mounted). */
export function canMakeMemoryCgroup(): boolean {
  try {
    const probe = path.join(CGROUP_V1_MEMORY, `ddprun-probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

/** A memory cgroup with a limit; `remove` deletes it once it is empty. */
export function memoryCgroup(limitBytes: number): {
  dir: string;
  add: (pid: number) => void;
  oomKills: () => number;
  remove: () => void;
} {
  const dir = path.join(CGROUP_V1_MEMORY, `ddprun-test-oom-${process.pid}-${Date.now()}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes));
  return {
    dir,
    add: (pid) => writeFileSync(path.join(dir, 'cgroup.procs'), String(pid)),
    oomKills: () =>
      Number(/^oom_kill (\d+)/m.exec(readFileSync(path.join(dir, 'memory.oom_control'), 'utf8'))?.[1] ?? 0),
    remove: () => {
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(dir);
          return;
        } catch {
          // EBUSY while the killed process is still being torn down
        }
      }
    },
  };
}
