import path from 'node:path';
import { closeFdsPrefix } from '../resolve/inherited-fds.js';
import { stackDumpEnv } from '../../insight/bootstrap.js';
import type { LaunchPlan, RankPlan, ResolvedOptions, StdSelection } from '../../model/types.js';
import { interactiveLocalRank } from '../run/interactive.js';
import { warningIgnoredPrefix } from '../run/preemption.js';

/** Variables ddprun sets for every rank beyond the per-rank contract, unless the user set them. */
function sharedEnv(resolved: ResolvedOptions, userEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  const isSet = (name: string) => resolved.env[name] !== undefined || userEnv[name] !== undefined;
  // torch < 2.2 reads NCCL_ASYNC_ERROR_HANDLING (torchrun 1.13 sets it); newer reads TORCH_NCCL_ASYNC_ERROR_HANDLING
  // and warns that the old name is deprecated when it is set. Unknown torch (a command entry): both.
  const version = resolved.torchVersion === undefined ? undefined : /^(\d+)\.(\d+)/.exec(resolved.torchVersion);
  const old = version ? Number(version[1]) < 2 || (Number(version[1]) === 2 && Number(version[2]) < 2) : undefined;
  for (const name of old === undefined
    ? ['TORCH_NCCL_ASYNC_ERROR_HANDLING', 'NCCL_ASYNC_ERROR_HANDLING']
    : [old ? 'NCCL_ASYNC_ERROR_HANDLING' : 'TORCH_NCCL_ASYNC_ERROR_HANDLING'])
    env[name] = resolved.env[name] ?? userEnv[name] ?? '1';
  // torchrun sets OMP_NUM_THREADS=1 for the workers when it starts more than one per node and the user set none.
  if (resolved.nprocPerNode > 1 && !isSet('OMP_NUM_THREADS')) env.OMP_NUM_THREADS = '1';
  if (resolved.socketIfname) {
    if (!isSet('GLOO_SOCKET_IFNAME')) env.GLOO_SOCKET_IFNAME = resolved.socketIfname;
    if (!isSet('NCCL_SOCKET_IFNAME')) env.NCCL_SOCKET_IFNAME = resolved.socketIfname;
  }
  return env;
}

/**
 * A trainer entry (`ddprun train mytrainer.MyTrainer`) runs the entry file in the config dir, so Python puts that
 * folder, not the launch directory, first on sys.path. The launch directory goes in front of PYTHONPATH, as `python -m`
 * puts the working directory first on sys.path: the trainer's module is found beside the user, then on their
 * PYTHONPATH. Script, module and command entries are left exactly as the user started them.
 */
export function importPathEnv(
  resolved: Pick<ResolvedOptions, 'entry' | 'env' | 'cwd'>,
  userEnv: NodeJS.ProcessEnv,
): Record<string, string> {
  if (!('trainer' in resolved.entry)) return {};
  const original = resolved.env.PYTHONPATH ?? userEnv.PYTHONPATH;
  return { PYTHONPATH: original ? `${resolved.cwd}${path.delimiter}${original}` : resolved.cwd };
}

/** torchrun's `--virtual-local-rank`: LOCAL_RANK 0, and CUDA_VISIBLE_DEVICES narrowed to the rank's own device. */
function virtualLocalRankEnv(localRank: number, userEnv: NodeJS.ProcessEnv): Record<string, string> {
  const visible = userEnv.CUDA_VISIBLE_DEVICES?.split(',').filter(Boolean);
  return {
    LOCAL_RANK: '0',
    CUDA_VISIBLE_DEVICES: visible && visible.length > localRank ? (visible[localRank] as string) : String(localRank),
  };
}

/** The argv of one rank, without the parent-death wrapper. */
export function entryArgv(resolved: ResolvedOptions, entryFile: string | undefined): string[] {
  const { entry } = resolved;
  if ('command' in entry) return [entry.command, ...(entry.args ?? [])];
  const python = resolved.python as string;
  if ('module' in entry) return [python, '-u', '-m', entry.module, ...(entry.args ?? [])];
  if ('script' in entry) return [python, '-u', entry.script, ...(entry.args ?? [])];
  return [python, '-u', entryFile ?? '<entry file written at launch>'];
}

function logFile(
  resolved: ResolvedOptions,
  attempt: number,
  localRank: number,
  stream: 'stdout' | 'stderr',
): string | undefined {
  // The rank on the terminal writes there itself: nothing of it reaches a file.
  if (!resolved.logDir || localRank === interactiveLocalRank(resolved)) return undefined;
  const redirected = resolved.redirects[localRank] ?? 'none';
  const teed = resolved.tee[localRank] ?? 'none';
  const wants = (s: StdSelection) => s === 'all' || s === stream;
  return wants(redirected) || wants(teed)
    ? path.join(resolved.logDir, `attempt_${attempt}`, String(localRank), `${stream}.log`)
    : undefined;
}

/** torchrun's worker contract: the variables every rank of an attempt gets (TorchElastic's names and values). */
function workerEnv(
  resolved: ResolvedOptions,
  attempt: number,
  masterPort: number,
  { localRank, rank }: { localRank: number; rank: number },
  errorFile: string,
): Record<string, string> {
  const worldSize = resolved.nprocPerNode * resolved.maxNodes;
  return {
    LOCAL_RANK: String(localRank),
    RANK: String(rank),
    GROUP_RANK: String(resolved.nodeRank),
    ROLE_RANK: String(rank),
    ROLE_NAME: resolved.role ?? 'default',
    LOCAL_WORLD_SIZE: String(resolved.nprocPerNode),
    WORLD_SIZE: String(worldSize),
    GROUP_WORLD_SIZE: String(resolved.maxNodes),
    ROLE_WORLD_SIZE: String(worldSize),
    MASTER_ADDR: resolved.masterAddr,
    MASTER_PORT: String(masterPort),
    TORCHELASTIC_RESTART_COUNT: String(attempt),
    TORCHELASTIC_MAX_RESTARTS: String(resolved.maxRestarts),
    TORCHELASTIC_RUN_ID: resolved.runId,
    TORCHELASTIC_USE_AGENT_STORE: 'False',
    TORCHELASTIC_ERROR_FILE: errorFile,
  };
}

/**
 * Decides everything one attempt does, without doing any of it: per local rank, the exact argv, cwd and the
 * variables of torchrun's worker contract. Pure: `--dry-run` prints it.
 */
export function planAttempt(
  resolved: ResolvedOptions,
  attempt: number,
  masterPort: number,
  entryFile?: string,
  userEnv: NodeJS.ProcessEnv = process.env,
): LaunchPlan {
  const worldSize = resolved.nprocPerNode * resolved.maxNodes;
  const shared = sharedEnv(resolved, userEnv);
  const env = { ...resolved.env, ...importPathEnv(resolved, userEnv) };
  const argv = [
    ...resolved.deathSigWrapper,
    ...closeFdsPrefix(resolved.closeFds ?? []),
    // Under `ddprun slurm --signal-before`: the warning is ddprun's alone (it stops the ranks leader-first).
    ...warningIgnoredPrefix(userEnv),
    ...entryArgv(resolved, entryFile),
  ];
  const ranks: RankPlan[] = [];
  const files: string[] = [];
  if ('trainer' in resolved.entry)
    files.push(entryFile ?? path.join(resolved.configDir ?? '<config dir>', 'DDP', '_temp_<random><id>.py'));
  for (let localRank = 0; localRank < resolved.nprocPerNode; localRank++) {
    const rank = resolved.nodeRank * resolved.nprocPerNode + localRank;
    // In the run folder: the path is the run's mark (process safety). A failing rank's error.json is copied beside
    // its logs after the attempt (keepErrorFile), as torchrun keeps it.
    const errorFile = path.join(resolved.runDir, `attempt_${attempt}`, String(localRank), 'error.json');
    const stdoutLog = logFile(resolved, attempt, localRank, 'stdout');
    const stderrLog = logFile(resolved, attempt, localRank, 'stderr');
    if (stdoutLog) files.push(stdoutLog);
    if (stderrLog) files.push(stderrLog);
    ranks.push({
      localRank,
      rank,
      argv,
      cwd: resolved.cwd,
      errorFile,
      stdoutLog,
      stderrLog,
      env: {
        ...env,
        ...workerEnv(resolved, attempt, masterPort, { localRank, rank }, errorFile),
        ...shared,
        ...(resolved.virtualLocalRank ? virtualLocalRankEnv(localRank, userEnv) : {}),
        ...stackDumpEnv({ ...resolved, env }, errorFile, userEnv),
      },
    });
  }
  return { attempt, masterAddr: resolved.masterAddr, masterPort, worldSize, ranks, files };
}
