import { randomBytes } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError, describeValue } from '../../errors.js';
import { which } from '../../which.js';
import { findPython, probeTorch } from '../../python/find-python.js';
import { ddpWorldSizeFromDevice, listGpus } from '../../devices.js';
import { getUserConfigDir } from '../../ultralytics/config-dir.js';
import { interfaceForAddress, isLocalAddress, validateMasterAddr } from './netif.js';
import { deathSigWrapper } from '../run/pdeathsig.js';
import { checkTrainer } from '../../ultralytics/trainer.js';
import type { DdpTrainer } from '../../ultralytics/types.js';
import { planAgent } from '../torchrun/backend.js';
import type { LaunchOptions, ResolvedOptions, StdSelection, StdSpec } from '../types.js';
import { DEFAULT_MAX_LOG_BYTES } from '../../store/capped-log.js';

/** torchrun's default for multi-node static rendezvous. */
export const DEFAULT_MULTINODE_PORT = 29500;
export const DEFAULT_GRACE_PERIOD_MS = 30_000;
export const DEFAULT_RDZV_TIMEOUT_MS = 900_000;
/** More local ranks than this is a typo (`1e9`), not a machine. */
export const MAX_NPROC_PER_NODE = 4096;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SELECTIONS: readonly StdSelection[] = ['none', 'stdout', 'stderr', 'all'];
const KNOWN_OPTIONS = new Set([
  'entry',
  'nprocPerNode',
  'nnodes',
  'nodeRank',
  'masterAddr',
  'masterPort',
  'maxRestarts',
  'runId',
  'logDir',
  'redirects',
  'tee',
  'localRanksFilter',
  'gracePeriodMs',
  'python',
  'cwd',
  'env',
  'signal',
  'backend',
  'rdzvTimeoutMs',
  'rdzvBackend',
  'rdzvEndpoint',
  'rdzvId',
  'handleSignals',
  'console',
  'configDir',
  'record',
  'recordMaxLogBytes',
  'resume',
]);

/** `host` of `host:port` or `[v6]:port`. */
function endpointHost(endpoint: string): string {
  return endpoint.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
}

function fail(option: string, value: unknown, expected: string): never {
  throw new UsageError(`Expected the \`${option}\` option to be ${expected}, got ${describeValue(value)}`, option);
}

function intOption(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(option, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function stdSpec(option: string, value: StdSpec | undefined, nproc: number): StdSelection[] {
  const out: StdSelection[] = Array.from({ length: nproc }, () => 'none');
  if (value === undefined) return out;
  if (typeof value === 'string') {
    if (!SELECTIONS.includes(value))
      fail(
        option,
        value,
        `one of ${SELECTIONS.map((s) => `'${s}'`).join(', ')} or a map from local rank to one of them`,
      );
    return out.fill(value);
  }
  if (typeof value !== 'object' || value === null) fail(option, value, 'a stream selection');
  for (const [key, sel] of Object.entries(value)) {
    const rank = Number(key);
    if (!Number.isInteger(rank) || rank < 0 || rank >= nproc)
      fail(`${option}[${key}]`, key, `a local rank from 0 to ${nproc - 1}`);
    if (!SELECTIONS.includes(sel)) fail(`${option}[${key}]`, sel, `one of ${SELECTIONS.join(', ')}`);
    out[rank] = sel;
  }
  return out;
}

function stringRecord(option: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(option, value, 'an object of strings');
  for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') fail(`${option}.${k}`, v, 'a string');
  return { ...(value as Record<string, string>) };
}

/** Checks, without creating anything, that `dir` exists as a directory or could be created as one. */
function creatableDir(option: string, dir: string): void {
  for (let at = dir; ; at = path.dirname(at)) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(at).isDirectory();
    } catch {
      isDir = undefined; // does not exist (yet): look at its parent
    }
    if (isDir === false)
      throw new UsageError(
        `The \`${option}\` option names ${JSON.stringify(dir)}, but ${JSON.stringify(at)} is a file, not a directory.`,
        option,
      );
    if (isDir) {
      try {
        accessSync(at, constants.W_OK | constants.X_OK);
      } catch {
        throw new UsageError(
          `The \`${option}\` option names ${JSON.stringify(dir)}, but ${JSON.stringify(at)} is not writable. Choose a directory you can write.`,
          option,
        );
      }
      return;
    }
    if (path.dirname(at) === at) return;
  }
}

function existingDir(option: string, dir: string): string {
  const abs = path.resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    /* reported below */
  }
  if (!isDir)
    throw new UsageError(
      `The \`${option}\` option names ${JSON.stringify(dir)}, which is not an existing directory.`,
      option,
    );
  return abs;
}

function checkEntry(options: LaunchOptions, cwd: string): void {
  const entry = options.entry as unknown;
  if (typeof entry !== 'object' || entry === null)
    fail('entry', entry, 'one of { script }, { module }, { command } or { trainer }');
  const kinds = ['script', 'module', 'command', 'trainer'].filter((k) => k in entry);
  if (kinds.length !== 1) fail('entry', entry, 'exactly one of { script }, { module }, { command } or { trainer }');
  const e = entry as Record<string, unknown>;
  if (e.args !== undefined && (!Array.isArray(e.args) || e.args.some((a) => typeof a !== 'string')))
    fail('entry.args', e.args, 'an array of strings');
  if ('script' in e) {
    if (typeof e.script !== 'string' || !e.script) fail('entry.script', e.script, 'a path to a Python script');
    const file = path.resolve(cwd, e.script);
    try {
      accessSync(file, constants.R_OK);
      if (!statSync(file).isFile()) throw new Error('not a file');
    } catch {
      throw new UsageError(
        `The script ${JSON.stringify(e.script)} does not exist or cannot be read (looked for ${file}).`,
        'entry.script',
      );
    }
  } else if ('module' in e) {
    if (typeof e.module !== 'string' || !e.module.split('.').every((p) => IDENT.test(p)))
      fail('entry.module', e.module, 'a dotted Python module name such as `pkg.train`');
  } else if ('command' in e) {
    if (typeof e.command !== 'string' || !e.command) fail('entry.command', e.command, 'an executable name or path');
    if (!which(e.command, { cwd })) {
      throw new UsageError(
        `The command ${JSON.stringify(e.command)} is not an executable file${e.command.includes('/') ? '' : ' on PATH'}.`,
        'entry.command',
      );
    }
  } else {
    const t = e.trainer as Record<string, unknown> | null;
    if (typeof t !== 'object' || t === null) fail('entry.trainer', t, 'a DdpTrainer object');
    // Module, class and every argument (as a Python literal) are checked now, not when the entry file is written.
    checkTrainer(t as unknown as DdpTrainer);
  }
}

function parseNnodes(value: unknown, backend: 'native' | 'torchrun'): [number, number] {
  if (value === undefined) return [1, 1];
  if (typeof value === 'number') {
    const n = intOption('nnodes', value, 1, 100_000);
    return [n, n];
  }
  const match = typeof value === 'string' ? /^(\d+)(?::(\d+))?$/.exec(value) : null;
  if (!match) fail('nnodes', value, "a positive integer, or 'MIN:MAX' with the torchrun backend");
  const min = Number(match[1]);
  const max = Number(match[2] ?? match[1]);
  if (min < 1 || max < min) fail('nnodes', value, "'MIN:MAX' with 1 <= MIN <= MAX");
  if (min !== max && backend !== 'torchrun') {
    throw new UsageError(
      `Elastic membership (\`nnodes\` ${JSON.stringify(value)}) needs torchrun's c10d rendezvous: add --backend torchrun.`,
      'nnodes',
    );
  }
  return [min, max];
}

async function resolveNproc(
  value: LaunchOptions['nprocPerNode'],
  options: LaunchOptions,
  python: string | undefined,
): Promise<{ n: number; torchVersion?: string }> {
  if (value === undefined) {
    if ('trainer' in options.entry)
      return { n: ddpWorldSizeFromDevice(options.entry.trainer.args?.device, await listGpus()) };
    return { n: 1 };
  }
  if (value === 'cpu') return { n: os.availableParallelism() };
  if (value === 'auto' || value === 'gpu') {
    if (!python)
      throw new UsageError(
        `\`nprocPerNode: '${value}'\` needs a Python with torch to count GPUs; give a number with a \`command\` entry.`,
        'nprocPerNode',
      );
    const torch = await probeTorch(python);
    if (torch.cudaAvailable && torch.cudaDeviceCount > 0)
      return { n: torch.cudaDeviceCount, torchVersion: torch.version };
    if (value === 'gpu')
      throw new UsageError(
        `\`nprocPerNode: 'gpu'\` but torch ${torch.version} sees no CUDA device; use a number, 'cpu' or 'auto'.`,
        'nprocPerNode',
      );
    return { n: os.availableParallelism(), torchVersion: torch.version };
  }
  return { n: intOption('nprocPerNode', value, 1, MAX_NPROC_PER_NODE) };
}

export interface ResolveBehaviour {
  /** Find the interpreter and probe torch (`false`: check the options only, e.g. before submitting to other machines). @default true */
  probe?: boolean;
}

/**
 * Checks every option and fills every default, before anything is written, spawned or deleted.
 * Bad input throws a UsageError that names the option, the value and what is accepted.
 */
export async function resolveOptions(
  options: LaunchOptions,
  { probe = true }: ResolveBehaviour = {},
): Promise<ResolvedOptions> {
  if (typeof options !== 'object' || options === null) fail('options', options, 'an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key))
      throw new UsageError(`Unknown option \`${key}\`. Known options: ${[...KNOWN_OPTIONS].join(', ')}.`, key);
  }
  const backend = options.backend ?? 'native';
  if (backend !== 'native' && backend !== 'torchrun') fail('backend', backend, "'native' or 'torchrun'");
  const cwd = options.cwd === undefined ? process.cwd() : existingDir('cwd', options.cwd);
  checkEntry(options, cwd);
  const env = stringRecord('env', options.env);
  const [minNodes, maxNodes] = parseNnodes(options.nnodes, backend);
  const nodeRank =
    options.nodeRank === undefined ? 0 : intOption('nodeRank', options.nodeRank, 0, Number.MAX_SAFE_INTEGER);
  if (minNodes === maxNodes && nodeRank >= maxNodes) {
    throw new UsageError(
      `\`nodeRank\` ${nodeRank} must be smaller than \`nnodes\` ${maxNodes} (node ranks are 0 … ${maxNodes - 1}).`,
      'nodeRank',
    );
  }
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  const addrProblem = validateMasterAddr(masterAddr);
  if (addrProblem)
    throw new UsageError(`Invalid \`masterAddr\` ${JSON.stringify(masterAddr)}: ${addrProblem}`, 'masterAddr');
  const masterPort =
    options.masterPort === undefined ? undefined : intOption('masterPort', options.masterPort, 1, 65535);
  const maxRestarts =
    options.maxRestarts === undefined ? 0 : intOption('maxRestarts', options.maxRestarts, 0, 1_000_000);
  const gracePeriodMs =
    options.gracePeriodMs === undefined
      ? DEFAULT_GRACE_PERIOD_MS
      : intOption('gracePeriodMs', options.gracePeriodMs, 0, 86_400_000);
  const rdzvTimeoutMs =
    options.rdzvTimeoutMs === undefined
      ? DEFAULT_RDZV_TIMEOUT_MS
      : intOption('rdzvTimeoutMs', options.rdzvTimeoutMs, 1, 86_400_000 * 7);
  if (options.runId !== undefined && (typeof options.runId !== 'string' || !/^[\w.-]+$/.test(options.runId)))
    fail('runId', options.runId, 'a non-empty string of letters, digits, `_`, `.` and `-`');
  const runId = options.runId ?? 'none';
  if (options.logDir !== undefined && (typeof options.logDir !== 'string' || !options.logDir))
    fail('logDir', options.logDir, 'a directory path');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    fail('signal', options.signal, 'an AbortSignal');
  if (
    options.rdzvEndpoint !== undefined &&
    (typeof options.rdzvEndpoint !== 'string' || !/^\S+:\d{1,5}$/.test(options.rdzvEndpoint))
  )
    fail('rdzvEndpoint', options.rdzvEndpoint, '`HOST:PORT`');
  if (options.configDir !== undefined && typeof options.configDir !== 'string')
    fail('configDir', options.configDir, 'a directory path');
  if (options.record !== undefined && typeof options.record !== 'boolean') fail('record', options.record, 'a boolean');
  if (options.resume !== undefined && typeof options.resume !== 'boolean') fail('resume', options.resume, 'a boolean');
  const recordMaxLogBytes =
    options.recordMaxLogBytes === undefined
      ? DEFAULT_MAX_LOG_BYTES
      : intOption('recordMaxLogBytes', options.recordMaxLogBytes, 1024, Number.MAX_SAFE_INTEGER);

  const needsPython = probe && (!('command' in options.entry) || backend === 'torchrun');
  const python = needsPython ? (await findPython({ python: options.python })).python : undefined;
  // Without probing, a symbolic count ('auto') is checked as the widest node, so that every rank-indexed option passes.
  const symbolic =
    !probe && typeof options.nprocPerNode === 'string' && ['auto', 'gpu', 'cpu'].includes(options.nprocPerNode);
  const { n: nprocPerNode, torchVersion: probed } = symbolic
    ? { n: MAX_NPROC_PER_NODE }
    : await resolveNproc(options.nprocPerNode, options, python);
  const torchVersion = probed ?? (backend === 'torchrun' && python ? (await probeTorch(python)).version : undefined);

  if (options.localRanksFilter !== undefined) {
    const f = options.localRanksFilter as unknown;
    if (!Array.isArray(f) || f.some((r) => !Number.isInteger(r) || r < 0 || r >= nprocPerNode))
      fail('localRanksFilter', f, `an array of local ranks from 0 to ${nprocPerNode - 1}`);
  }
  const localRanksFilter = new Set(options.localRanksFilter ?? Array.from({ length: nprocPerNode }, (_, i) => i));
  const redirects = stdSpec('redirects', options.redirects, nprocPerNode);
  let tee = stdSpec('tee', options.tee, nprocPerNode);
  const wantsFiles = [...redirects, ...tee].some((s) => s !== 'none');
  let logDir = options.logDir === undefined ? undefined : path.resolve(cwd, options.logDir);
  if (logDir) creatableDir('logDir', logDir);
  // --log-dir alone keeps both streams in files and on the console; a redirect without a log dir goes to a temp dir, as torchrun does.
  if (logDir && !wantsFiles) tee = tee.map(() => 'all');
  const warnings: string[] = [];
  if (!logDir && wantsFiles) {
    logDir = path.join(os.tmpdir(), `ddprun-logs-${runId}-${randomBytes(4).toString('hex')}`);
    warnings.push(`--redirects/--tee without --log-dir: the ranks' log files go to ${logDir} (kept after the run).`);
  }
  if (nprocPerNode > 1 && env.OMP_NUM_THREADS === undefined && process.env.OMP_NUM_THREADS === undefined) {
    warnings.push(
      'Setting OMP_NUM_THREADS environment variable for each process to be 1 in default, to avoid your system being overloaded, please further tune the variable for optimal performance in your application as needed.',
    );
  }
  const rdzvBackend = options.rdzvBackend ?? (minNodes === maxNodes ? 'static' : 'c10d');
  if (backend === 'native' && (options.rdzvBackend ?? options.rdzvEndpoint ?? options.rdzvId) !== undefined) {
    warnings.push(
      '--rdzv-backend, --rdzv-endpoint and --rdzv-id only apply to --backend torchrun; the native backend uses --master-addr and --master-port.',
    );
  }
  // Where the nodes meet: the master address, or under torchrun's dynamic rendezvous its endpoint.
  const dynamic = backend === 'torchrun' && rdzvBackend !== 'static';
  const meetingHost = dynamic && options.rdzvEndpoint ? endpointHost(options.rdzvEndpoint) : masterAddr;
  let socketIfname: string | undefined;
  if (maxNodes > 1) {
    if (!dynamic && nodeRank === 0 && !(await isLocalAddress(masterAddr))) {
      warnings.push(
        `Node 0 was given --master-addr ${masterAddr}, which is not an address of this machine: rank 0 hosts the store there, so the other nodes may not reach it.`,
      );
    }
    const setByUser = (name: string) => env[name] !== undefined || process.env[name] !== undefined;
    if (!setByUser('GLOO_SOCKET_IFNAME') || !setByUser('NCCL_SOCKET_IFNAME'))
      socketIfname = await interfaceForAddress(meetingHost);
  }
  const rdzvIsHost = dynamic && rdzvBackend === 'c10d' ? await isLocalAddress(meetingHost) : undefined;
  const configDir = options.configDir ?? ('trainer' in options.entry ? getUserConfigDir() : undefined);

  const resolved: ResolvedOptions = {
    entry: options.entry,
    backend,
    python,
    torchVersion,
    nprocPerNode,
    minNodes,
    maxNodes,
    nodeRank,
    masterAddr,
    masterPort: masterPort ?? (maxNodes > 1 ? DEFAULT_MULTINODE_PORT : undefined),
    masterPortFixed: masterPort !== undefined || maxNodes > 1,
    maxRestarts,
    runId,
    logDir,
    redirects,
    tee,
    localRanksFilter,
    gracePeriodMs,
    cwd,
    env,
    signal: options.signal,
    rdzvTimeoutMs,
    rdzvBackend,
    rdzvEndpoint: options.rdzvEndpoint,
    rdzvId: options.rdzvId ?? runId,
    handleSignals: options.handleSignals ?? true,
    console: options.console ?? true,
    socketIfname,
    rdzvIsHost,
    warnings,
    deathSigWrapper: deathSigWrapper(),
    runDir: path.join(os.tmpdir(), `ddprun-${process.pid}-${randomBytes(6).toString('hex')}`),
    configDir,
    record: options.record ?? true,
    recordMaxLogBytes,
    resume: options.resume ?? true,
  };
  // torchrun's own limits (per-rank redirects, what an old torch.distributed.launch lacks) fail here, before any effect.
  if (backend === 'torchrun' && python) planAgent(resolved, resolved.masterPort ?? DEFAULT_MULTINODE_PORT);
  return resolved;
}
