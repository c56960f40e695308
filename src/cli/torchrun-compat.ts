import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { LaunchOptions, RootCause } from '../launch/types.js';
import type { Spec } from './flag-specs.js';
import { parseSecondsToMs } from './flags.js';

// torchrun as a drop-in: every flag of torchrun's parser (torch 2.11, which includes 1.13's), read the way argparse
// reads it (`_`/`-` spellings, `-r`/`-t`, unique prefixes, `PET_<FLAG>` variables, a `--` right after the script),
// before commander sees the command line.

/** One flag of torchrun's `get_args_parser()` and what ddprun does with it (the README's table says the same). */
export interface TorchrunFlag {
  /** Dash spelling; the underscore one is accepted too. */
  long: string;
  short?: string;
  value: boolean;
  /** What ddprun does with it. */
  ddprun: string;
  /** Set when the native backend does not use it: the reason, shown by --dry-run. */
  ignored?: string;
}

export const TORCHRUN_FLAGS: readonly TorchrunFlag[] = [
  { long: '--nnodes', value: true, ddprun: 'honoured (N, or MIN:MAX via the torchrun backend)' },
  { long: '--nproc-per-node', value: true, ddprun: 'honoured (N, auto, gpu, cpu)' },
  { long: '--rdzv-backend', value: true, ddprun: 'honoured; c10d with several nodes selects the torchrun backend' },
  { long: '--rdzv-endpoint', value: true, ddprun: 'honoured by the torchrun backend' },
  { long: '--rdzv-id', value: true, ddprun: 'honoured: TORCHELASTIC_RUN_ID' },
  {
    long: '--rdzv-conf',
    value: true,
    ddprun: 'join_timeout/timeout honoured natively; all keys passed to the torchrun backend',
  },
  { long: '--standalone', value: false, ddprun: 'honoured: one node, a free port, a fresh run id' },
  { long: '--max-restarts', value: true, ddprun: 'honoured' },
  {
    long: '--monitor-interval',
    value: true,
    ddprun: 'accepted; ddprun sees an exit at once',
    ignored: 'ddprun is told of each exit at once, it does not poll',
  },
  {
    long: '--start-method',
    value: true,
    ddprun: 'accepted; every rank is a fresh process (spawn)',
    ignored: 'every rank is a fresh process, as with spawn',
  },
  {
    long: '--event-log-handler',
    value: true,
    ddprun: 'accepted, ignored (ddprun records its own events)',
    ignored: 'no torchelastic event handlers in ddprun',
  },
  { long: '--role', value: true, ddprun: 'honoured: ROLE_NAME' },
  { long: '--module', short: '-m', value: false, ddprun: 'honoured' },
  { long: '--no-python', value: false, ddprun: 'honoured' },
  { long: '--run-path', value: false, ddprun: 'honoured: the script runs as `python -u script` (same result)' },
  { long: '--log-dir', value: true, ddprun: 'honoured: <dir>/<run id>_<random>/attempt_<k>/<local rank>/' },
  { long: '--redirects', short: '-r', value: true, ddprun: 'honoured' },
  { long: '--tee', short: '-t', value: true, ddprun: 'honoured' },
  { long: '--local-ranks-filter', value: true, ddprun: 'honoured' },
  {
    long: '--duplicate-stdout-filters',
    value: true,
    ddprun: 'accepted, ignored',
    ignored: 'no duplicate log file; use --json and filter',
  },
  {
    long: '--duplicate-stderr-filters',
    value: true,
    ddprun: 'accepted, ignored',
    ignored: 'no duplicate log file; use --json and filter',
  },
  { long: '--node-rank', value: true, ddprun: 'honoured' },
  { long: '--master-addr', value: true, ddprun: 'honoured' },
  { long: '--master-port', value: true, ddprun: 'honoured' },
  {
    long: '--local-addr',
    value: true,
    ddprun: 'accepted, ignored (gloo/NCCL interfaces: GLOO_SOCKET_IFNAME, set by ddprun)',
    ignored: 'ddprun publishes no node address; it sets GLOO_SOCKET_IFNAME/NCCL_SOCKET_IFNAME',
  },
  {
    long: '--logs-specs',
    value: true,
    ddprun: 'accepted, ignored (ddprun writes its own log layout)',
    ignored: 'ddprun writes its own log layout',
  },
  {
    long: '--numa-binding',
    value: true,
    ddprun: 'accepted, ignored',
    ignored: 'no NUMA binding; wrap the command with numactl',
  },
  {
    long: '--signals-to-handle',
    value: true,
    ddprun: 'accepted; ddprun forwards SIGINT, SIGTERM, SIGHUP',
    ignored: 'ddprun forwards SIGINT, SIGTERM and SIGHUP',
  },
  { long: '--shutdown-timeout', value: true, ddprun: 'honoured: the grace period (--grace-period)' },
  { long: '--virtual-local-rank', value: false, ddprun: 'honoured: LOCAL_RANK=0, CUDA_VISIBLE_DEVICES per rank' },
];

/** commander specs for the torchrun flags ddprun's own table (LAUNCH_FLAGS, ENTRY_FLAGS) does not have. */
export const TORCHRUN_EXTRA_FLAGS: Spec[] = [
  { flags: '--rdzv-conf <conf>', description: "torchrun's rendezvous configuration, key=value,…" },
  { flags: '--monitor-interval <seconds>', description: 'torchrun compatibility (ignored: exits are seen at once)' },
  {
    flags: '--start-method <method>',
    description: 'torchrun compatibility (ignored: each rank is a fresh process)',
    choices: ['spawn', 'fork', 'forkserver'],
  },
  { flags: '--event-log-handler <name>', description: 'torchrun compatibility (ignored)' },
  { flags: '--role <name>', description: "the workers' role: ROLE_NAME (default: default)" },
  { flags: '--run-path', description: 'torchrun compatibility: run the script (as `python -u script`)' },
  { flags: '--duplicate-stdout-filters <list>', description: 'torchrun compatibility (ignored)' },
  { flags: '--duplicate-stderr-filters <list>', description: 'torchrun compatibility (ignored)' },
  { flags: '--local-addr <addr>', description: 'torchrun compatibility (ignored)' },
  { flags: '--logs-specs <name>', description: 'torchrun compatibility (ignored)' },
  { flags: '--numa-binding <mode>', description: 'torchrun compatibility (ignored)' },
  { flags: '--signals-to-handle <list>', description: 'torchrun compatibility (ignored)' },
  { flags: '--shutdown-timeout <seconds>', description: 'same as --grace-period' },
  { flags: '--virtual-local-rank', description: 'every rank sees LOCAL_RANK=0 and only its own GPU' },
  {
    flags: '--log-line-prefix-template <template>',
    description: 'prefix of console lines, e.g. "[${rank}]: " (${rank}, ${local_rank}, ${role_name})',
  },
];

const BY_LONG = new Map(TORCHRUN_FLAGS.map((flag) => [flag.long, flag]));
const SHORT: Record<string, string> = { '-r': '--redirects', '-t': '--tee' };

/** `PET_NPROC_PER_NODE` for `--nproc-per-node`: argparse's dest, upper-cased. */
export function petName(long: string): string {
  return `PET_${long.slice(2).replace(/-/g, '_').toUpperCase()}`;
}

export interface Preprocessed {
  /** The command line with canonical long flags, ready for commander. */
  tokens: string[];
  /** Long flags given (command line or PET_), canonical spelling. */
  given: Set<string>;
  /** Flags taken from PET_ variables, as `PET_X=value`. */
  fromEnv: string[];
}

function resolveLong(name: string, known: readonly string[]): string | undefined {
  if (known.includes(name)) return name;
  const candidates = known.filter((flag) => flag.startsWith(name));
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0) return undefined;
  // torchrun's own flags win a prefix that only ddprun's additions make ambiguous (`--ru` is torchrun's --run-path).
  const torchrun = candidates.filter((flag) => BY_LONG.has(flag));
  if (torchrun.length === 1) return torchrun[0];
  throw new UsageError(
    `Ambiguous option ${name}: it could be ${candidates.join(', ')}. Type more of it.`,
    name.replace(/=.*$/, ''),
  );
}

/**
 * Reads the launcher's part of a command line as torchrun's argparse does: `--a_b` is `--a-b`, a unique prefix is
 * the flag, `-r`/`-t` (also `-r3`) are `--redirects`/`--tee`, and a `--` right after the script is dropped. Then the
 * `PET_<FLAG>` variables fill the flags the command line left out (`PET_NO_PYTHON=1`: a switch, `0` is off).
 * `known` lists every long flag of the command, `valueFlags` those that take a value.
 */
export function preprocessTorchrunArgv(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  known: readonly string[],
  valueFlags: ReadonlySet<string>,
): Preprocessed {
  const out: string[] = [];
  const given = new Set<string>();
  let i = 0;
  while (i < argv.length) {
    const token = argv[i] as string;
    if (token === '--' || token === '-' || !token.startsWith('-')) break;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const typed = (eq === -1 ? token : token.slice(0, eq)).replace(/_/g, '-');
      const name = resolveLong(typed, known) ?? typed;
      given.add(name);
      out.push(eq === -1 ? name : name + token.slice(eq));
      i += 1;
      if (eq === -1 && valueFlags.has(name) && i < argv.length) out.push(argv[i++] as string);
      continue;
    }
    const long = SHORT[token.slice(0, 2)];
    if (long) {
      given.add(long);
      if (token.length > 2) out.push(long, token.slice(2).replace(/^=/, ''));
      else {
        out.push(long);
        if (i + 1 < argv.length) out.push(argv[++i] as string);
      }
      i += 1;
      continue;
    }
    if (token === '-m') given.add('--module');
    out.push(token);
    i += 1;
  }
  const rest = argv.slice(i);
  // torchrun (argparse, REMAINDER) drops the first `--` after the script: `torchrun train.py -- --lr 1` passes `--lr 1`.
  if (rest.length >= 2 && rest[0] !== '--' && rest[1] === '--') rest.splice(1, 1);
  const fromEnv: string[] = [];
  const prefix: string[] = [];
  for (const flag of TORCHRUN_FLAGS) {
    const variable = petName(flag.long);
    const value = env[variable];
    if (value === undefined) continue;
    if (given.has(flag.long) || (flag.long === '--no-python' && given.has('--python'))) continue;
    if (flag.value) {
      prefix.push(flag.long, value);
    } else {
      // check_env: `bool(int(value))`.
      if (!/^\s*[+-]?\d+\s*$/.test(value))
        throw new UsageError(`${variable} must be an integer (0 off, 1 on) as torchrun reads it, got "${value}".`);
      if (Number(value) === 0) continue;
      prefix.push(flag.long);
    }
    given.add(flag.long);
    fromEnv.push(`${variable}=${value}`);
  }
  return { tokens: [...prefix, ...out, ...rest], given, fromEnv };
}

/** `join_timeout=5,last_call_timeout=1` (quotes a shell would have removed are removed) as entries. */
export function parseRdzvConf(text: string): [string, string][] {
  let conf = text.trim();
  if (conf.length >= 2 && (conf[0] === "'" || conf[0] === '"') && conf.at(-1) === conf[0]) conf = conf.slice(1, -1);
  const out: [string, string][] = [];
  for (const part of conf.split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new UsageError(
        `--rdzv-conf expects key=value pairs separated by commas, e.g. join_timeout=60, got "${text}".`,
        '--rdzv-conf',
      );
    out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}

/** The names of the flags the native backend ignores that this command line gave, with why. */
export function ignoredFlags(given: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const flag of TORCHRUN_FLAGS) {
    if (!flag.ignored || !given.has(flag.long)) continue;
    out.push(`${flag.long}: ${flag.ignored}`);
  }
  return out;
}

/**
 * Applies the torchrun flags ddprun's own table lacks to the launch options, and torchrun's environment rules
 * (`PYTHON_EXEC`, `--standalone`'s fresh run id, `--rdzv-id` as TORCHELASTIC_RUN_ID, c10d with several nodes and no
 * node rank: the torchrun backend). Returns the notes --dry-run shows.
 */
export function applyTorchrunFlags(
  raw: Record<string, unknown>,
  options: LaunchOptions,
  pre: Preprocessed,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const notes: string[] = pre.fromEnv.map((from) => `from the environment: ${from}`);
  const str = (key: string) => (typeof raw[key] === 'string' ? raw[key] : undefined);
  const role = str('role');
  if (role !== undefined) options.role = role;
  if (raw.virtualLocalRank) options.virtualLocalRank = true;
  const template = str('logLinePrefixTemplate');
  if (template !== undefined) options.linePrefixTemplate = template;
  else if (env.TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE !== undefined)
    options.linePrefixTemplate = env.TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE;
  const conf = str('rdzvConf');
  if (conf !== undefined) {
    const entries = parseRdzvConf(conf);
    options.rdzvConf = Object.fromEntries(entries);
    const timeout = entries.find(([key]) => key === 'join_timeout') ?? entries.find(([key]) => key === 'timeout');
    if (timeout && options.rdzvTimeoutMs === undefined) {
      const seconds = Number(timeout[1]);
      if (!Number.isFinite(seconds) || seconds <= 0)
        throw new UsageError(
          `--rdzv-conf ${timeout[0]} must be a number of seconds, got "${timeout[1]}".`,
          '--rdzv-conf',
        );
      options.rdzvTimeoutMs = Math.round(seconds * 1000);
    }
  }
  const shutdown = str('shutdownTimeout');
  if (shutdown !== undefined && !pre.given.has('--grace-period'))
    options.gracePeriodMs = parseSecondsToMs('--shutdown-timeout', shutdown);
  // torchrun runs `os.getenv("PYTHON_EXEC", sys.executable)`.
  if (options.python === undefined && env.PYTHON_EXEC && !('command' in options.entry)) {
    options.python = env.PYTHON_EXEC;
    notes.push(`python from PYTHON_EXEC: ${env.PYTHON_EXEC}`);
  }
  if (pre.given.has('--standalone')) {
    // torchrun --standalone: rendezvous id uuid4(), whatever --rdzv-id said.
    if (!pre.given.has('--run-id')) options.runId = randomUUID();
    if (options.backend === 'torchrun') {
      options.rdzvBackend = 'c10d';
      options.rdzvEndpoint = 'localhost:0';
      options.rdzvId = options.runId;
    } else {
      delete options.rdzvId;
      delete options.rdzvBackend;
      delete options.rdzvEndpoint;
    }
  } else if (options.rdzvId !== undefined && options.runId === undefined) {
    // torchrun's TORCHELASTIC_RUN_ID is the rendezvous id.
    if (/^[\w.-]+$/.test(options.rdzvId)) options.runId = options.rdzvId;
  }
  // The common c10d recipe: every node runs the same command and the rendezvous assigns node ranks. That is
  // torchrun's dynamic rendezvous, which the torchrun backend runs.
  if (options.backend === undefined) {
    const nnodes = options.nnodes;
    const elastic =
      typeof nnodes === 'string' && /^(\d+):(\d+)$/.test(nnodes) && nnodes.split(':')[0] !== nnodes.split(':')[1];
    const several =
      elastic ||
      (typeof nnodes === 'number' && nnodes > 1) ||
      (typeof nnodes === 'string' && /^\d+$/.test(nnodes) && Number(nnodes) > 1);
    const dynamic = options.rdzvBackend !== undefined && options.rdzvBackend !== 'static';
    if (elastic || (several && dynamic && options.nodeRank === undefined)) {
      options.backend = 'torchrun';
      notes.push(
        elastic
          ? `backend: torchrun (chosen for --nnodes ${String(nnodes)}: elastic membership is torchrun's dynamic rendezvous)`
          : `backend: torchrun (chosen for --rdzv-backend ${options.rdzvBackend} with no --node-rank: the rendezvous assigns node ranks)`,
      );
    }
  }
  if (
    options.backend === 'torchrun' &&
    options.rdzvBackend === undefined &&
    typeof options.nnodes === 'string' &&
    options.nnodes.includes(':')
  )
    options.rdzvBackend = 'c10d';
  for (const line of ignoredFlags(pre.given)) notes.push(`ignored: ${line}`);
  return notes;
}

/** torchrun's `mkdtemp(prefix=f"{run_id}_", dir=log_dir)`: this run's own folder under `--log-dir`. */
export function perRunLogDir(logDir: string, runId: string | undefined): string {
  return path.join(logDir, `${runId ?? 'none'}_${randomBytes(4).toString('hex')}`);
}

/**
 * TORCHELASTIC_ENABLE_FILE_TIMER=1 asks the launcher to serve torch's FileTimerServer (a named pipe the ranks' timers
 * write to). The native backend has none: say so before anything runs instead of a BrokenPipeError in a rank.
 */
export function refuseFileTimer(env: Readonly<Record<string, string | undefined>>, options: LaunchOptions): void {
  if (env.TORCHELASTIC_ENABLE_FILE_TIMER !== '1' || options.backend === 'torchrun') return;
  throw new UsageError(
    "TORCHELASTIC_ENABLE_FILE_TIMER=1 needs torchrun's FileTimerServer, which the native backend does not run. Add --backend torchrun (its agent serves the timers), or unset the variable.",
    'TORCHELASTIC_ENABLE_FILE_TIMER',
  );
}

/**
 * The error file torch's `ErrorHandler` writes (`{"message": {"message", "extraInfo": {"py_callstack", "timestamp"}},
 * "errorCode"}`), with the failing rank's root cause: what torchrun's agent leaves in its own TORCHELASTIC_ERROR_FILE.
 */
export function writeAgentErrorFile(file: string, cause: RootCause, stderr: NodeJS.WritableStream): void {
  const exitCode = cause.exitCode ?? (cause.signal ? -1 : 1);
  const body = {
    message: {
      message:
        cause.message ||
        `ChildFailedError: rank ${cause.rank} (local rank ${cause.localRank}) exited with ${cause.signal ?? exitCode}`,
      extraInfo: {
        py_callstack: cause.traceback,
        timestamp: String(Math.floor(Date.parse(cause.time) / 1000) || Math.floor(Date.now() / 1000)),
      },
    },
    errorCode: exitCode,
  };
  try {
    writeFileSync(file, JSON.stringify(body));
  } catch (error) {
    stderr.write(`ddprun: warning: cannot write TORCHELASTIC_ERROR_FILE ${file}: ${(error as Error).message}\n`);
  }
}
