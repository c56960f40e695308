import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { findPython, probeTorch } from '../../python/find-python.js';
import { findUserConfigDir } from '../../ultralytics/config-dir.js';
import { selectTrainerDevices } from '../../ultralytics/select-device.js';
import { OPTION_NAMES } from '../option-table.js';
import { deathSigWrapper } from '../run/pdeathsig.js';
import { inheritedFds } from './inherited-fds.js';
import { planAgent } from '../torchrun/backend.js';
import { DEFAULT_MAX_LOG_BYTES } from '../../store/capped-log.js';
import type { Entry, LaunchOptions, ResolvedOptions } from '../../model/types.js';
import { defaultCwd, resolveIn } from '../../os/cwd.js';
import { checkEntry } from './entry.js';
import { existingDir, usableTmpdir } from './fs-checks.js';
import { interfaceForAddress, isLocalAddress } from './netif.js';
import { DEFAULT_MULTINODE_PORT, checkMasterAddrResolves, resolveNodes, type Nodes } from './nodes.js';
import { MAX_NPROC_PER_NODE, checkNproc, resolveNproc } from './nproc.js';
import { resolveRunName } from '../../store/run-name.js';
import { resolveInsight } from './insight.js';
import { resolveOutput } from './output.js';
import { resolveRendezvous, type Rendezvous } from './rendezvous-options.js';
import { resolveInteractive } from '../run/interactive.js';
import {
  fail,
  integerOr,
  validateBoolean,
  validateObject,
  validateOneOf,
  validateStopSignal,
  validateString,
} from './validators.js';
import { strayRankEnvWarnings } from './stray-env.js';

export { DEFAULT_MULTINODE_PORT } from './nodes.js';
export { MAX_NPROC_PER_NODE } from './nproc.js';
export { DEFAULT_RDZV_TIMEOUT_MS } from './rendezvous-options.js';
export { DEFAULT_RESOURCE_INTERVAL_MS, MIN_RESOURCE_INTERVAL_MS } from './insight.js';
export const DEFAULT_GRACE_PERIOD_MS = 30_000;

const KNOWN_OPTIONS = new Set<string>(OPTION_NAMES);

/** `host` of `host:port` or `[v6]:port`. */
function endpointHost(endpoint: string): string {
  return endpoint.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
}

/** An object with only known option names. */
function checkShape(options: unknown): Record<string, unknown> {
  const o = validateObject('options', options, 'an object');
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key))
      throw new UsageError(`Unknown option \`${key}\`. Known options: ${OPTION_NAMES.join(', ')}.`, key);
  }
  return o;
}

function resolveCwd(value: unknown): string {
  if (value === undefined) return defaultCwd();
  const dir = validateString('cwd', value, 'a directory path');
  return existingDir('cwd', resolveIn(defaultCwd(), dir, 'cwd'));
}

function resolveEnv(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const env = validateObject('env', value, 'an object of strings');
  for (const [k, v] of Object.entries(env)) {
    if (k === '' || k.includes('=') || k.includes('\0'))
      fail('env', k, 'an object whose keys are variable names (no `=`, no NUL)');
    if (typeof v !== 'string') fail(`env.${k}`, v, 'a string');
    if (v.includes('\0')) fail(`env.${k}`, v, 'a string without NUL characters');
  }
  return { ...(env as Record<string, string>) };
}

function resolvePython(value: unknown): string | undefined {
  return value === undefined ? undefined : validateString('python', value, 'a path to a Python interpreter');
}

function resolveSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) fail('signal', value, 'an AbortSignal');
  return value;
}

function resolveConfigDir(value: unknown, entry: Entry, cwd: string): string | undefined {
  if (value !== undefined) return resolveIn(cwd, validateString('configDir', value, 'a directory path'), 'configDir');
  return 'trainer' in entry ? findUserConfigDir() : undefined;
}

/** Every check that needs no interpreter and no network: the options' form, files that must exist. */
function checkForm(options: Record<string, unknown>) {
  const backend =
    options.backend === undefined ? 'native' : validateOneOf('backend', options.backend, ['native', 'torchrun']);
  const cwd = resolveCwd(options.cwd);
  const entry = checkEntry(options.entry, cwd);
  checkNproc(options.nprocPerNode);
  const nodes = resolveNodes(options, backend);
  const rdzv = resolveRendezvous(options, backend, nodes.minNodes !== nodes.maxNodes);
  return {
    backend,
    cwd,
    entry,
    nodes,
    rdzv,
    env: resolveEnv(options.env),
    python: resolvePython(options.python),
    maxRestarts: integerOr('maxRestarts', options.maxRestarts, 0, 1_000_000, 0),
    gracePeriodMs: integerOr('gracePeriodMs', options.gracePeriodMs, 0, 86_400_000, DEFAULT_GRACE_PERIOD_MS),
    stopSignal: options.stopSignal === undefined ? 'SIGTERM' : validateStopSignal(options.stopSignal),
    signal: resolveSignal(options.signal),
    handleSignals: validateBoolean('handleSignals', options.handleSignals, true),
    console: validateBoolean('console', options.console, true),
    record: validateBoolean('record', options.record, true),
    name: resolveRunName(options.name),
    recordMaxLogBytes: integerOr(
      'recordMaxLogBytes',
      options.recordMaxLogBytes,
      1024,
      Number.MAX_SAFE_INTEGER,
      DEFAULT_MAX_LOG_BYTES,
    ),
    // Trainer mode: a restart resumes from the run's own weights/last.pt unless this is false.
    resume: validateBoolean('resume', options.resume, true),
    configDirOption: options.configDir,
    insight: resolveInsight(options, backend),
    tmpdir: usableTmpdir(),
  };
}

/**
 * Trainer mode: the devices Ultralytics' `select_device` would pick (`-1` → idle GPUs, `CUDA_VISIBLE_DEVICES`), for the
 * library and `ddprun train` alike. Only when probing: `-1` asks nvidia-smi, which the submitting machine may not have.
 */
async function selectDevices<F extends { entry: Entry; env: Record<string, string> }>(
  form: F,
  probe: boolean,
): Promise<F> {
  if (!probe || !('trainer' in form.entry)) return form;
  const { trainer, env } = await selectTrainerDevices(form.entry.trainer, form.env);
  return { ...form, entry: { trainer }, env };
}

/** Where the nodes meet, as this node sees it: the interface to use, whether it hosts the store. */
async function probeNetwork(
  nodes: Nodes,
  rdzv: Rendezvous,
  backend: 'native' | 'torchrun',
  env: Record<string, string>,
  warnings: string[],
): Promise<{ socketIfname: string | undefined; rdzvIsHost: boolean | undefined }> {
  const dynamic = backend === 'torchrun' && rdzv.rdzvBackend !== 'static';
  const meetingHost = dynamic && rdzv.rdzvEndpoint ? endpointHost(rdzv.rdzvEndpoint) : nodes.masterAddr;
  let socketIfname: string | undefined;
  if (nodes.maxNodes > 1) {
    if (!dynamic && nodes.nodeRank === 0 && !(await isLocalAddress(nodes.masterAddr))) {
      warnings.push(
        `Node 0 was given --master-addr ${nodes.masterAddr}, which is not an address of this machine: rank 0 hosts the store there, so the other nodes may not reach it.`,
      );
    }
    const setByUser = (name: string) => env[name] !== undefined || process.env[name] !== undefined;
    if (!setByUser('GLOO_SOCKET_IFNAME') || !setByUser('NCCL_SOCKET_IFNAME'))
      socketIfname = await interfaceForAddress(meetingHost);
  }
  const rdzvIsHost = dynamic && rdzv.rdzvBackend === 'c10d' ? await isLocalAddress(meetingHost) : undefined;
  return { socketIfname, rdzvIsHost };
}

/** torchrun's warning, word for word. */
const OMP_WARNING =
  'Setting OMP_NUM_THREADS environment variable for each process to be 1 in default, to avoid your system being overloaded, please further tune the variable for optimal performance in your application as needed.';

/** The interpreter (unless a command runs without torchrun), and the ranks on this node, counted if symbolic. */
async function probeRanks(
  nproc: unknown,
  form: ReturnType<typeof checkForm>,
  probe: boolean,
): Promise<{ python: string | undefined; nprocPerNode: number; torchVersion: string | undefined }> {
  const { entry, backend } = form;
  const needsPython = probe && (!('command' in entry) || backend === 'torchrun');
  const found = needsPython ? await findPython({ python: form.python }) : undefined;
  const python = found?.python;
  // Without probing, a symbolic count ('auto') is checked as the widest node, so that every rank-indexed option passes.
  const { n: nprocPerNode, torchVersion: probed } =
    !probe && typeof nproc === 'string' ? { n: MAX_NPROC_PER_NODE } : await resolveNproc(nproc, entry, python);
  const torchVersion =
    probed ??
    found?.torchVersion ??
    (backend === 'torchrun' && python ? (await probeTorch(python)).version : undefined);
  return { python, nprocPerNode, torchVersion };
}

/** The options named after torchrun's (`--role`, `--rdzv-conf`, `--virtual-local-rank`, the line prefix template). */
function torchrunExtras(
  options: LaunchOptions,
): Pick<ResolvedOptions, 'role' | 'rdzvConf' | 'virtualLocalRank' | 'linePrefixTemplate'> {
  return {
    role: options.role === undefined ? 'default' : validateString('role', options.role, 'a non-empty string'),
    rdzvConf: resolveEnv(options.rdzvConf),
    virtualLocalRank: validateBoolean('virtualLocalRank', options.virtualLocalRank, false),
    linePrefixTemplate:
      options.linePrefixTemplate === undefined
        ? undefined
        : validateString('linePrefixTemplate', options.linePrefixTemplate, 'a string'),
  };
}

export interface ResolveBehaviour {
  /**
   * Find the interpreter and probe torch (`false`: check the options only, e.g. before submitting to other machines).
   * @default true
   */
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
  const form = await selectDevices(checkForm(checkShape(options)), probe);
  const { backend, cwd, entry, nodes, rdzv, env } = form;
  await checkMasterAddrResolves(nodes);

  const { python, nprocPerNode, torchVersion } = await probeRanks(options.nprocPerNode, form, probe);

  const output = resolveOutput(options as unknown as Record<string, unknown>, nprocPerNode, cwd, rdzv.runId);
  const omp = nprocPerNode > 1 && env.OMP_NUM_THREADS === undefined && process.env.OMP_NUM_THREADS === undefined;
  const warnings = [...output.warnings, ...(omp ? [OMP_WARNING] : []), ...rdzv.warnings];
  const { socketIfname, rdzvIsHost } = await probeNetwork(nodes, rdzv, backend, env, warnings);

  const resolved: ResolvedOptions = {
    entry,
    backend,
    python,
    torchVersion,
    nprocPerNode,
    minNodes: nodes.minNodes,
    maxNodes: nodes.maxNodes,
    nodeRank: nodes.nodeRank,
    masterAddr: nodes.masterAddr,
    masterPort: nodes.masterPort ?? (nodes.maxNodes > 1 ? DEFAULT_MULTINODE_PORT : undefined),
    masterPortFixed: nodes.masterPort !== undefined || nodes.maxNodes > 1,
    maxRestarts: form.maxRestarts,
    ...rdzv, // runId and the rdzv* options (its warnings are merged into `warnings` below)
    logDir: output.logDir,
    redirects: output.redirects,
    tee: output.tee,
    localRanksFilter: output.localRanksFilter,
    gracePeriodMs: form.gracePeriodMs,
    stopSignal: form.stopSignal,
    cwd,
    env,
    signal: form.signal,
    handleSignals: form.handleSignals,
    console: form.console,
    socketIfname,
    rdzvIsHost,
    warnings,
    deathSigWrapper: deathSigWrapper(),
    runDir: path.join(form.tmpdir, `ddprun-${process.pid}-${randomBytes(6).toString('hex')}`),
    configDir: resolveConfigDir(form.configDirOption, entry, cwd),
    insight: form.insight,
    record: form.record,
    name: form.name,
    recordMaxLogBytes: form.recordMaxLogBytes,
    ...torchrunExtras(options),
    interactive: resolveInteractive(options.interactive, { ...nodes, ...output, backend, nprocPerNode, entry }, probe),
    closeFds: inheritedFds(),
    resume: form.resume,
  };
  warnings.push(...strayRankEnvWarnings(resolved, process.env));
  // torchrun's own limits (per-rank redirects, an old torch.distributed.launch's) fail here, before any effect.
  if (backend === 'torchrun' && python) planAgent(resolved, resolved.masterPort ?? DEFAULT_MULTINODE_PORT);
  return resolved;
}
