import { afterAll, beforeAll, expect } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { until } from './procs.js';

/** A throwaway two-node Slurm cluster on loopback: its own munged, slurmctld and two slurmd. */
export interface SlurmCluster {
  /** Environment for sbatch/srun/scontrol and the jobs they start (SLURM_CONF, PATH with node). */
  env: NodeJS.ProcessEnv;
  confPath: string;
  /** Temp directory holding config, state, sockets and logs; a good cwd for jobs. */
  dir: string;
  /** Node names; they are IPv4 loopback addresses so that `MASTER_ADDR=<first node>` resolves anywhere. */
  nodeNames: readonly string[];
  /** The last lines of every daemon log, for error messages. */
  logs(): string;
  /** Cancels the cluster's jobs, stops every daemon by pid (SIGTERM, bounded wait, SIGKILL), removes the temp dir. */
  stop(): Promise<void>;
}

const NODE_NAMES = ['127.0.0.1', '127.0.0.2'] as const;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** Whether the Debian packages slurmctld, slurmd, slurm-client and munge are installed. */
export function slurmToolsInstalled(): boolean {
  return ['munged', 'slurmctld', 'slurmd', 'sbatch', 'scontrol', 'sinfo'].every(
    (tool) => findExecutable(tool) !== undefined,
  );
}

/**
 * Whether the tests on a real cluster are skipped: slurmd must run as root to start jobs, and the Debian packages
 * must be installed. A developer machine without them skips; CI (CI set) never skips, so a missing Slurm fails there.
 */
export function slurmClusterSkipped(): boolean {
  return !process.env.CI && (process.getuid?.() !== 0 || !slurmToolsInstalled());
}

/**
 * Starts the cluster and resolves once both nodes are idle. Needs root (slurmd runs jobs as their
 * user) and the Slurm packages; it installs nothing. Every process it starts carries
 * DDPRUN_SLURM_CLUSTER=<dir> in its environment, daemons and job tasks alike, so stop() can find
 * the ones Slurm itself detached (slurmstepd and the tasks under it) and leave nothing behind.
 */
export async function startSlurmCluster(): Promise<SlurmCluster> {
  const missing = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'scontrol', 'sinfo'].filter(
    (tool) => findExecutable(tool) === undefined,
  );
  if (missing.length > 0) {
    throw new Error(
      `Slurm is not installed (missing ${missing.join(', ')}): apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge`,
    );
  }
  // Unix socket paths are limited to 107 bytes, so stay short even when TMPDIR is long.
  const base = tmpdir().length > 60 ? '/tmp' : tmpdir();
  const dir = mkdtempSync(join(base, 'ddprun-slurm-'));
  // munged refuses a socket directory that others can write to, and clients need to reach it: 755.
  chmodSync(dir, 0o755);
  const daemons: Daemon[] = [];
  const cluster = buildCluster(dir, daemons);
  try {
    for (const sub of ['munge', 'state', 'log', 'jobs', ...NODE_NAMES.map((name) => join('spool', name))]) {
      mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 });
    }
    writeFileSync(join(dir, 'munge', 'munge.key'), randomBytes(1024), { mode: 0o600 });
    const [ctldPort, ...nodePorts] = await freePorts(1 + NODE_NAMES.length);
    writeFileSync(cluster.confPath, slurmConf(dir, ctldPort as number, nodePorts));

    const daemonEnv = { ...cluster.env };
    daemons.push(
      startDaemon('munged', dir, daemonEnv, [
        'munged',
        '--foreground',
        '--force',
        `--key-file=${join(dir, 'munge', 'munge.key')}`,
        `--socket=${join(dir, 'munge', 'munge.socket.2')}`,
        `--pid-file=${join(dir, 'munge', 'munged.pid')}`,
        `--seed-file=${join(dir, 'munge', 'munged.seed')}`,
        `--log-file=${join(dir, 'log', 'munged.log')}`,
      ]),
    );
    await waitFor(
      () => existsSync(join(dir, 'munge', 'munge.socket.2')),
      10_000,
      'munged to create its socket',
      cluster,
      daemons,
    );
    daemons.push(startDaemon('slurmctld', dir, daemonEnv, ['slurmctld', '-D', '-i', '-f', cluster.confPath]));
    for (const name of NODE_NAMES) {
      daemons.push(startDaemon(`slurmd-${name}`, dir, daemonEnv, ['slurmd', '-D', '-N', name, '-f', cluster.confPath]));
    }
    await waitFor(
      () => allNodesIdle(cluster.env),
      READY_TIMEOUT_MS,
      `both nodes to be idle in sinfo`,
      cluster,
      daemons,
    );
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

function buildCluster(dir: string, daemons: Daemon[]): SlurmCluster {
  const confPath = join(dir, 'slurm.conf');
  const env: NodeJS.ProcessEnv = {};
  // A test run inside a Slurm job must not hand that job's variables to this cluster.
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(SLURM|SBATCH|SRUN|SALLOC|SQUEUE|SINFO|SACCT)_/.test(name)) env[name] = value;
  }
  const path = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const needed of [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (!path.includes(needed)) path.push(needed);
  }
  Object.assign(env, { SLURM_CONF: confPath, PATH: path.join(delimiter), DDPRUN_SLURM_CLUSTER: dir });
  let stopping: Promise<void> | undefined;
  return {
    env,
    confPath,
    dir,
    nodeNames: NODE_NAMES,
    logs: () => daemonLogs(dir),
    stop: () => (stopping ??= stopCluster(dir, env, daemons)),
  };
}

function slurmConf(dir: string, ctldPort: number, nodePorts: readonly number[]): string {
  // Different clusters started at the same time get different job ids, so ports derived from them differ.
  const firstJobId = 1000 + Math.floor(Math.random() * 8000);
  return [
    'ClusterName=ddprun-test',
    'SlurmctldHost=localhost(127.0.0.1)',
    `SlurmctldPort=${ctldPort}`,
    `SlurmdPort=${nodePorts[0]}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    // Debian's Slurm 22.05 reaches a non-default munged through AuthInfo (for auth and cred alike).
    `AuthInfo=socket=${join(dir, 'munge', 'munge.socket.2')}`,
    `StateSaveLocation=${join(dir, 'state')}`,
    `SlurmdSpoolDir=${join(dir, 'spool', '%n')}`,
    `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(dir, 'slurmd-%n.pid')}`,
    `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
    `SlurmdLogFile=${join(dir, 'log', 'slurmd-%n.log')}`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/none',
    'MpiDefault=none',
    'SwitchType=switch/none',
    'SchedulerType=sched/backfill',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'ReturnToService=2',
    // Finished jobs stay in `scontrol show job` for 5 minutes: there is no accounting to ask.
    'MinJobAge=300',
    `FirstJobId=${firstJobId}`,
    'KillWait=5',
    'InactiveLimit=0',
    'SlurmctldTimeout=30',
    'SlurmdTimeout=30',
    // The nodes' ranks are plain processes (task/none pins nothing), so one CPU each is enough.
    ...NODE_NAMES.map(
      (name, i) =>
        `NodeName=${name} NodeHostname=localhost NodeAddr=127.0.0.1 Port=${nodePorts[i]} CPUs=1 State=UNKNOWN`,
    ),
    'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n');
}

function startDaemon(name: string, dir: string, env: NodeJS.ProcessEnv, argv: readonly string[]): Daemon {
  const out = openSync(join(dir, 'log', `${name}.out`), 'a');
  // With setpriv, a daemon dies with the test process even if that is SIGKILLed before stop().
  const setpriv = findExecutable('setpriv');
  const command = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
  const child = spawn(command[0] as string, command.slice(1), { cwd: dir, env, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return { name, child, exited };
}

async function stopCluster(dir: string, env: NodeJS.ProcessEnv, daemons: Daemon[]): Promise<void> {
  const ctldUp = daemons.some((daemon) => daemon.name === 'slurmctld' && daemon.child.exitCode === null);
  if (ctldUp) {
    // Cancel what is left so slurmd ends the tasks itself, then wait (bounded) for the queue to empty.
    spawnSync('scancel', ['--partition=debug'], { env, timeout: 10_000, stdio: 'ignore' });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const queue = spawnSync('squeue', ['--noheader', '--format=%i'], { env, timeout: 10_000, encoding: 'utf8' });
      if (queue.status === 0 && queue.stdout.trim() === '') break;
      await delay(200);
    }
  }
  for (const daemon of [...daemons].reverse()) await stopDaemon(daemon);
  // slurmstepd detaches from slurmd; anything of this cluster still alive is killed by pid.
  for (const pid of processesOfCluster(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

async function stopDaemon(daemon: Daemon): Promise<void> {
  const { child } = daemon;
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = delay(STOP_GRACE_MS, 'timeout');
  if ((await Promise.race([daemon.exited, timer])) === 'timeout') {
    child.kill('SIGKILL');
    await Promise.race([daemon.exited, delay(STOP_GRACE_MS)]);
  }
}

/** Pids whose environment carries this cluster's marker (daemons, slurmstepd, job tasks). */
export function processesOfCluster(dir: string): number[] {
  const marker = Buffer.from(`DDPRUN_SLURM_CLUSTER=${dir}\0`);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(join('/proc', entry, 'environ'));
      if (Buffer.concat([environ, Buffer.from('\0')]).includes(marker)) pids.push(Number(entry));
    } catch {
      // Exited meanwhile, or not ours to read.
    }
  }
  return pids;
}

function allNodesIdle(env: NodeJS.ProcessEnv): boolean {
  const result = spawnSync('sinfo', ['--noheader', '--Node', '--format=%N %t'], {
    env,
    timeout: 5_000,
    encoding: 'utf8',
  });
  if (result.status !== 0) return false;
  const states = new Map(
    result.stdout
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/) as [string, string]),
  );
  return NODE_NAMES.every((name) => states.get(name) === 'idle');
}

async function waitFor(
  ready: () => boolean,
  timeoutMs: number,
  what: string,
  cluster: SlurmCluster,
  daemons: Daemon[],
): Promise<void> {
  const failed = (why: string) =>
    `The test Slurm cluster did not start: waiting for ${what}, ${why}.\n${cluster.logs()}`;
  const readyOrDead = () => {
    const dead = daemons.find((daemon) => daemon.child.exitCode !== null || daemon.child.signalCode !== null);
    if (dead) throw new Error(failed(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode})`));
    return ready();
  };
  await until(() => failed('timed out'), readyOrDead, { timeoutMs, everyMs: 100 });
}

function daemonLogs(dir: string): string {
  const logDir = join(dir, 'log');
  if (!existsSync(logDir)) return '(no logs)';
  return readdirSync(logDir)
    .sort()
    .map((file) => {
      const lines = readFileSync(join(logDir, file), 'utf8').trimEnd().split('\n').slice(-15);
      return `--- ${file}\n${lines.join('\n')}`;
    })
    .join('\n');
}

/** Free TCP ports on loopback; outside the master-port range 20000–29999 (they are ephemeral). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '0.0.0.0', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('A TCP server has no port.');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
  return dirs.map((d) => join(d, name)).find((file) => existsSync(file));
}

/**
 * Starts a cluster before the suite's tests and stops it after them, checking that no daemon or job process of it is
 * left and its folder is gone. Returns a getter for the running cluster.
 */
export function useSlurmCluster(before: () => void = () => {}): () => SlurmCluster {
  let cluster: SlurmCluster | undefined;
  beforeAll(async () => {
    before();
    cluster = await startSlurmCluster();
  }, 60_000);
  afterAll(async () => {
    const dir = cluster?.dir;
    await cluster?.stop();
    if (dir) {
      expect(processesOfCluster(dir)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    }
  }, 60_000);
  return () => {
    if (!cluster) throw new Error('the Slurm cluster did not start');
    return cluster;
  };
}
