import { execFile } from 'node:child_process';
import { totalmem } from 'node:os';
import { pythonCandidates } from '../python/find-python.js';
import type { ResolvedOptions, RootCause } from '../model/types.js';
import { cgroupMemory, findOomKill } from './kernel-log.js';
import { SHM_FULL, type FailureFacts } from './explain.js';
import { shmSize } from '../os/shm.js';

const FIND_SPEC_TIMEOUT_MS = 5000;
// The module name travels as an argument, never as code.
const FIND_SPEC =
  'import importlib.util,sys\ns=importlib.util.find_spec(sys.argv[1])\nprint(s.origin or "" if s else "")';

function findSpec(python: string, module: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      python,
      ['-I', '-c', FIND_SPEC, module],
      { timeout: FIND_SPEC_TIMEOUT_MS, encoding: 'utf8' },
      (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined),
    );
  });
}

/** Other interpreters on this machine that can import `module` (its top-level package), with where they find it. */
export async function whereModuleIs(module: string, usedPython: string | undefined) {
  const top = module.split('.')[0]!;
  // A venv's python is a link to the system's, but another interpreter all the same: compare paths, not targets.
  const others = pythonCandidates().filter(({ python }) => python !== usedPython);
  const origins = await Promise.all(others.map(({ python }) => findSpec(python, top)));
  // `venv/bin/python` and `venv/bin/python3` find the same file: name the first only.
  const seen = new Set<string>();
  return others.flatMap(({ python }, i) => {
    const origin = origins[i];
    if (!origin || seen.has(origin)) return [];
    seen.add(origin);
    return [{ python, origin }];
  });
}

export interface FactSources {
  python: string | undefined;
  masterPort: number | undefined;
  /** How long the rank ran: the kernel log is searched no further back. */
  durationMs: number;
  peakRssBytes: number | undefined;
  /** The rank's memory cgroup as last sampled. */
  cgroupDir: string | undefined;
  /** `ddprun train`'s trainer module and launch directory, for an import error's hint. */
  trainer?: { module: string; cwd: string } | undefined;
}

/** The `trainer` fact source of a launch: its trainer entry's module and the launch directory (else undefined). */
export function trainerSource(resolved: Pick<ResolvedOptions, 'entry' | 'cwd'>): FactSources['trainer'] {
  return 'trainer' in resolved.entry ? { module: resolved.entry.trainer.module, cwd: resolved.cwd } : undefined;
}

/** Collects what explains a failure besides its text: the kernel's OOM kill, the cgroup, other Pythons' modules. */
export async function gatherFailureFacts(rc: RootCause, sources: FactSources): Promise<FailureFacts> {
  const facts: FailureFacts = {
    python: sources.python,
    masterPort: sources.masterPort,
    peakRssBytes: sources.peakRssBytes,
    totalMemoryBytes: totalmem(),
    trainer: sources.trainer,
  };
  if (rc.signal === 'SIGKILL' && rc.pid !== undefined) {
    facts.oomKill = findOomKill(rc.pid, sources.durationMs);
    if (sources.cgroupDir) facts.cgroup = cgroupMemory(sources.cgroupDir);
  }
  if (SHM_FULL.test(`${rc.message}\n${rc.traceback}`)) facts.shm = shmSize() ?? null;
  const missing = /No module named '([^']+)'/.exec(`${rc.message}\n${rc.traceback}`)?.[1];
  if (missing && !rc.signal) facts.moduleFoundIn = await whereModuleIs(missing, sources.python);
  return facts;
}
