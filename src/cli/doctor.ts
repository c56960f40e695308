import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { realPathOrResolved } from '../os/real-path.js';
import path from 'node:path';
import {
  findPython,
  inspectPython,
  probeTorch,
  pythonCandidates,
  type PythonInfo,
  type TorchInfo,
} from '../python/find-python.js';
import { deathSigWrapper } from '../launch/run/pdeathsig.js';
import { colorsFor } from './colors.js';
import { EXIT_ERROR, exitCodeForChecks, processExitCode } from '../exit-codes.js';
import { installTorch, thisMachine, torchInstallPlan } from './doctor-fix.js';
import { table } from './format.js';
import { listGpus, resolveCudaDevices, type Gpu } from '../devices.js';
import { configDirCandidates } from '../ultralytics/config-dir.js';
import { sweepStaleEntryFiles } from '../ultralytics/entry-file.js';
import { probeConfigDir } from './config-dir.js';
import { findFreeNetworkPort } from '../net/port.js';
import type { Io } from './io.js';
import { SHM_WARN_BELOW_BYTES, shmSize } from '../os/shm.js';
import { formatBytes } from '../insight/format-bytes.js';

type Level = 'ok' | 'warn' | 'fail' | 'info';
interface Check {
  name: string;
  level: Level;
  detail: string;
}

/** An interpreter findPython did not choose: asked through findPython's per-process cache, not started again. */
function describeCandidate(python: string): Promise<string> {
  return inspectPython(python).then(
    (spec) => `Python ${spec.release}, ${spec.hasTorch ? 'torch' : 'no torch'}`,
    () => 'did not run',
  );
}

/**
 * Linux's parent-death signal through util-linux `setpriv --pdeathsig`: what keeps ranks from outliving a SIGKILLed
 * ddprun.
 */
export function parentDeathGuard(): { available: boolean; detail: string } {
  if (process.platform !== 'linux')
    return {
      available: false,
      detail: `not on ${process.platform} (Linux only): ranks may outlive a SIGKILLed ddprun`,
    };
  // The same probe a launch uses, so doctor reports what a launch will do.
  if (deathSigWrapper().length === 0) {
    return {
      available: false,
      detail: 'setpriv --pdeathsig not found (install util-linux): ranks may outlive a SIGKILLed ddprun',
    };
  }
  return { available: true, detail: 'setpriv --pdeathsig (util-linux)' };
}

/** The GPU table and which GPU `device=-1` would pick. */
export function formatGpus(gpus: readonly Gpu[], idle: readonly number[]): string {
  const rows = [
    ['index', 'name', 'memory used/total', 'utilisation'],
    ...gpus.map((g) => [
      String(g.index),
      g.name,
      `${g.memoryUsedMiB}/${g.memoryTotalMiB} MiB`,
      `${g.utilizationPercent}%`,
    ]),
  ];
  const pick = idle.length ? `device=-1 would use GPU ${idle.join(',')}` : 'device=-1 would find no idle GPU';
  return `${table(rows, '  ')}\n  ${pick}`;
}

/** The interpreter a launch would use, then each other one found (once each). */
async function pythonChecks(io: Io): Promise<{ list: Check[]; python: PythonInfo | undefined }> {
  const list: Check[] = [];
  let python: PythonInfo | undefined;
  try {
    python = await findPython({ env: io.env });
    list.push({
      name: 'python',
      level: 'ok',
      detail: `${python.python} (Python ${python.pythonVersion.join('.')}, from ${python.source})`,
    });
  } catch (error) {
    list.push({ name: 'python', level: 'fail', detail: (error as Error).message.split('\n')[0] ?? '' });
  }
  // /bin/python3 is /usr/bin/python3 on merged-/usr systems: list each interpreter once.
  const real = realPathOrResolved;
  const chosen = python ? real(python.python) : undefined;
  const seen = new Set<string>(chosen ? [chosen] : []);
  const others = pythonCandidates(io.env).filter((c) => !seen.has(real(c.python)) && seen.add(real(c.python)));
  const described = await Promise.all(others.map(async (c) => `${c.python}: ${await describeCandidate(c.python)}`));
  described.forEach((detail, i) => list.push({ name: i === 0 ? 'also found' : '', level: 'info', detail }));
  return { list, python };
}

/** torch in that interpreter: its version, CUDA and the process-group backends. */
async function torchChecks(python: PythonInfo | undefined): Promise<Check[]> {
  if (!python)
    return [{ name: 'torch', level: 'fail', detail: 'no Python with torch (ddprun doctor --fix installs it)' }];
  let torch: TorchInfo;
  try {
    torch = await probeTorch(python.python);
  } catch (error) {
    return [{ name: 'torch', level: 'fail', detail: `import failed: ${(error as Error).message}` }];
  }
  const cuda = torch.cudaAvailable
    ? `available, ${torch.cudaDeviceCount} device(s)`
    : 'not available (CPU ranks use gloo)';
  return [
    { name: 'torch', level: 'ok', detail: torch.version },
    { name: 'CUDA', level: 'ok', detail: cuda },
    {
      name: 'backends',
      level: torch.gloo || torch.nccl ? 'ok' : 'fail',
      detail: `gloo ${torch.gloo ? 'yes' : 'no'}, NCCL ${torch.nccl ? 'yes' : 'no'}`,
    },
  ];
}

/** Where trainer runs write their entry files, and the temp files left there. */
function ddpDirChecks(io: Io): { list: Check[]; ddpDir: string } {
  const configDir = probeConfigDir(io.env);
  const ddpDir = path.join(configDir ?? (configDirCandidates('Ultralytics', io.env)[0] as string), 'DDP');
  let temps: string[] = [];
  try {
    temps = readdirSync(ddpDir).filter((name) => name.startsWith('_temp_') && name.endsWith('.py'));
  } catch {
    // No DDP dir yet: nothing to sweep.
  }
  const list: Check[] = [
    {
      name: 'DDP dir',
      level: configDir ? 'ok' : 'fail',
      detail: `${ddpDir} (${configDir ? 'writable' : 'not writable: set YOLO_CONFIG_DIR'})`,
    },
    {
      name: 'temp files',
      level: temps.length ? 'warn' : 'ok',
      detail: temps.length
        ? `${temps.length} entry file(s) in the DDP dir; \`ddprun gc\` removes those whose launcher is dead`
        : 'none',
    },
  ];
  return { list, ddpDir };
}

async function portCheck(): Promise<Check> {
  try {
    const port = await findFreeNetworkPort();
    return { name: 'free port', level: 'ok', detail: `bound and released 127.0.0.1:${port}` };
  } catch (error) {
    return { name: 'free port', level: 'fail', detail: `cannot bind a port on 127.0.0.1: ${(error as Error).message}` };
  }
}

/** `/dev/shm`: DataLoader workers hand every batch through it, and a container's default (64 MB) is soon full. */
export function shmCheck(): Check {
  const shm = shmSize();
  const fix = 'Docker: --shm-size=8g or --ipc=host; Kubernetes: an emptyDir with medium: Memory at /dev/shm';
  if (!shm)
    return { name: '/dev/shm', level: 'warn', detail: `missing: DataLoader workers cannot hand batches over (${fix})` };
  const size = `${formatBytes(shm.sizeBytes)} (${formatBytes(shm.freeBytes)} free)`;
  return shm.sizeBytes < SHM_WARN_BELOW_BYTES
    ? {
        name: '/dev/shm',
        level: 'warn',
        detail: `${size}: small, DataLoader workers fail with a bus error once it is full (${fix})`,
      }
    : { name: '/dev/shm', level: 'ok', detail: size };
}

async function checks(io: Io): Promise<{ list: Check[]; python: PythonInfo | undefined; gpus: Gpu[]; ddpDir: string }> {
  const { list, python } = await pythonChecks(io);
  list.push(...(await torchChecks(python)));
  const gpus = await listGpus().catch(() => [] as Gpu[]);
  list.push({
    name: 'GPUs',
    level: 'ok',
    detail: gpus.length ? `${gpus.length} from nvidia-smi` : 'none (nvidia-smi not found or no GPU)',
  });
  const ddp = ddpDirChecks(io);
  list.push(...ddp.list);
  list.push(await portCheck());
  list.push(shmCheck());
  const guard = parentDeathGuard();
  list.push({ name: 'orphan guard', level: guard.available ? 'ok' : 'warn', detail: guard.detail });
  return { list, python, gpus, ddpDir: ddp.ddpDir };
}

/** `doctor --json`: one object, each check named (a table row continuing the one above has no name of its own). */
export function doctorJson(list: readonly Check[], gpus: readonly Gpu[], failed: boolean): string {
  let name = '';
  const named = list.map((check) => ({ ...check, name: (name = check.name || name) }));
  return JSON.stringify({ ok: !failed, checks: named, gpus, idleGpus: resolveCudaDevices(-1, [...gpus]) });
}

/**
 * `ddprun doctor [--fix] [--json]`: prints the checks as a table (or JSON); 1 when something a launch needs is missing.
 */
export async function runDoctor(options: { fix: boolean; json?: boolean }, io: Io): Promise<number> {
  const c = colorsFor(options.json ? io.stderr : io.stdout, io.env);
  // With --json, stdout carries only the JSON: what --fix does is told on stderr.
  const log = (line: string) => (options.json ? io.stderr : io.stdout).write(`${line}\n`);
  const { list, python, gpus, ddpDir } = await checks(io);
  const mark = { ok: c.green('ok'), warn: c.yellow('warn'), fail: c.red('FAIL'), info: '' } as const;
  if (!options.json) {
    log(table([['check', '', 'detail'], ...list.map((check) => [check.name, mark[check.level], check.detail])]));
    if (gpus.length) log(`\nGPUs\n${formatGpus(gpus, resolveCudaDevices(-1, gpus))}`);
  }
  let failed = list.some((check) => check.level === 'fail');
  if (options.fix) {
    const removed = await sweepStaleEntryFiles(ddpDir);
    log(`\nswept ${removed.length} stale temp entry file(s)${removed.map((file) => `\n  ${file}`).join('')}`);
    if (!python) {
      const install = torchInstallPlan(thisMachine());
      if (!installTorch(install, log)) return EXIT_ERROR;
      // find-python caches what it learnt about each interpreter: check again in a fresh process.
      log('\nchecking again:');
      const again = spawnSync(
        process.execPath,
        [process.argv[1] ?? '', 'doctor', ...(options.json ? ['--json'] : [])],
        {
          stdio: 'inherit',
          env: io.env,
        },
      );
      return processExitCode(again.status, again.signal);
    }
    failed = list.some((check) => check.level === 'fail');
  }
  if (options.json) io.stdout.write(`${doctorJson(list, gpus, failed)}\n`);
  else
    log(
      failed
        ? `\n${c.red('Something a launch needs is missing')} (see FAIL above).`
        : `\n${c.green('Ready to launch.')}`,
    );
  return exitCodeForChecks(failed);
}
