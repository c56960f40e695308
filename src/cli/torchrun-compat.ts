import { writeFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { LaunchOptions, RootCause } from '../model/types.js';
import { parseSecondsToMs } from './flags.js';
import { TORCHRUN_FLAGS } from './torchrun-flags.js';

export { TORCHRUN_EXTRA_FLAGS, TORCHRUN_FLAGS, type TorchrunFlag } from './torchrun-flags.js';

// torchrun as a drop-in: every flag of torchrun's parser (torch 2.11, which includes 1.13's), read the way argparse
// reads it (`_`/`-` spellings, `-r`/`-t`, unique prefixes, `PET_<FLAG>` variables, a `--` right after the script),
// before commander sees the command line.

const BY_LONG = new Map(TORCHRUN_FLAGS.map((flag) => [flag.long, flag]));
const SHORT: Record<string, string> = { '-r': '--redirects', '-t': '--tee' };

type Env = Readonly<Record<string, string | undefined>>;

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

/** The launcher's flags before the script, canonical; `next` is where the script starts. */
function readLauncherFlags(
  argv: readonly string[],
  known: readonly string[],
  valueFlags: ReadonlySet<string>,
): { out: string[]; given: Set<string>; next: number } {
  const out: string[] = [];
  const given = new Set<string>();
  let i = 0;
  const take = (name: string, ...tokens: string[]) => {
    given.add(name);
    out.push(...tokens);
  };
  while (i < argv.length) {
    const token = argv[i++] as string;
    if (token === '--' || token === '-' || !token.startsWith('-')) return { out, given, next: i - 1 };
    const long = SHORT[token.slice(0, 2)];
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const typed = (eq === -1 ? token : token.slice(0, eq)).replace(/_/g, '-');
      const name = resolveLong(typed, known) ?? typed;
      take(name, eq === -1 ? name : name + token.slice(eq));
      if (eq === -1 && valueFlags.has(name) && i < argv.length) out.push(argv[i++] as string);
    } else if (long && token.length > 2) take(long, long, token.slice(2).replace(/^=/, ''));
    else if (long) take(long, long, ...(i < argv.length ? [argv[i++] as string] : []));
    else take(token === '-m' ? '--module' : token, token);
  }
  return { out, given, next: i };
}

/** The flags `PET_<FLAG>` variables give that the command line did not (`given` gains them). */
function petFlags(env: Env, given: Set<string>): { prefix: string[]; fromEnv: string[] } {
  const prefix: string[] = [];
  const fromEnv: string[] = [];
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
  return { prefix, fromEnv };
}

/**
 * Reads the launcher's part of a command line as torchrun's argparse does: `--a_b` is `--a-b`, a unique prefix is
 * the flag, `-r`/`-t` (also `-r3`) are `--redirects`/`--tee`, and a `--` right after the script is dropped. Then the
 * `PET_<FLAG>` variables fill the flags the command line left out (`PET_NO_PYTHON=1`: a switch, `0` is off).
 * `known` lists every long flag of the command, `valueFlags` those that take a value.
 */
export function preprocessTorchrunArgv(
  argv: readonly string[],
  env: Env,
  known: readonly string[],
  valueFlags: ReadonlySet<string>,
): Preprocessed {
  const { out, given, next } = readLauncherFlags(argv, known, valueFlags);
  const rest = argv.slice(next);
  // torchrun (argparse, REMAINDER) drops the first `--` after the script: `torchrun train.py -- --lr 1` passes `--lr
  // 1`.
  if (rest.length >= 2 && rest[0] !== '--' && rest[1] === '--') rest.splice(1, 1);
  const { prefix, fromEnv } = petFlags(env, given);
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
 * torchrun loads `--logs-specs NAME` from the `torchrun.logs_specs` entry points (a ValueError for a name none
 * registers; `default` is the only one torch has). ddprun writes its own log layout, so only `default` is taken.
 */
function checkLogsSpecs(name: string | undefined): void {
  if (name === undefined || name === 'default') return;
  throw new UsageError(
    `--logs-specs ${JSON.stringify(name)} is not a logs spec ddprun knows: torchrun looks the name up in the \`torchrun.logs_specs\` entry points, whose only built-in is \`default\`, and ddprun writes its own log layout. Use \`--logs-specs default\` or leave the flag out.`,
    '--logs-specs',
  );
}

/**
 * `--rdzv-conf`: every key for the torchrun backend; `join_timeout` (else `timeout`) is the native rendezvous timeout.
 */
function applyRdzvConf(conf: string, options: LaunchOptions): void {
  const entries = parseRdzvConf(conf);
  options.rdzvConf = Object.fromEntries(entries);
  const timeout = entries.find(([key]) => key === 'join_timeout') ?? entries.find(([key]) => key === 'timeout');
  if (!timeout || options.rdzvTimeoutMs !== undefined) return;
  const seconds = Number(timeout[1]);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`--rdzv-conf ${timeout[0]} must be a number of seconds, got "${timeout[1]}".`, '--rdzv-conf');
  options.rdzvTimeoutMs = Math.round(seconds * 1000);
}

/** The flags that map one to one onto launch options. */
function applyPlainFlags(raw: Record<string, unknown>, options: LaunchOptions, pre: Preprocessed, env: Env): void {
  const str = (key: string) => (typeof raw[key] === 'string' ? raw[key] : undefined);
  checkLogsSpecs(str('logsSpecs'));
  const role = str('role');
  if (role !== undefined) options.role = role;
  if (raw.virtualLocalRank) options.virtualLocalRank = true;
  const template = str('logLinePrefixTemplate') ?? env.TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE;
  if (template !== undefined) options.linePrefixTemplate = template;
  const conf = str('rdzvConf');
  if (conf !== undefined) applyRdzvConf(conf, options);
  const shutdown = str('shutdownTimeout');
  if (shutdown !== undefined && !pre.given.has('--grace-period'))
    options.gracePeriodMs = parseSecondsToMs('--shutdown-timeout', shutdown);
}

/** `--standalone`: a fresh run id whatever `--rdzv-id` said; else `--rdzv-id` is TORCHELASTIC_RUN_ID. */
function applyRunId(options: LaunchOptions, pre: Preprocessed): void {
  if (!pre.given.has('--standalone')) {
    if (options.rdzvId !== undefined && options.runId === undefined && /^[\w.-]+$/.test(options.rdzvId))
      options.runId = options.rdzvId;
    return;
  }
  // torchrun --standalone: rendezvous id uuid4().
  if (!pre.given.has('--run-id')) options.runId = globalThis.crypto.randomUUID(); // Web Crypto: node:crypto loads only when used
  if (options.backend === 'torchrun') {
    options.rdzvBackend = 'c10d';
    options.rdzvEndpoint = 'localhost:0';
    options.rdzvId = options.runId;
  } else {
    delete options.rdzvId;
    delete options.rdzvBackend;
    delete options.rdzvEndpoint;
  }
}

/**
 * The common c10d recipe (every node runs the same command and the rendezvous assigns node ranks) and an elastic
 * `MIN:MAX` are torchrun's dynamic rendezvous, which the torchrun backend runs: chosen here, with the note saying so.
 */
function chooseBackend(options: LaunchOptions): string | undefined {
  if (options.backend !== undefined) return undefined;
  const nnodes = options.nnodes;
  const range = typeof nnodes === 'string' ? /^(\d+):(\d+)$/.exec(nnodes) : null;
  const elastic = range !== null && range[1] !== range[2];
  const several = elastic || Number(range ? range[1] : nnodes) > 1;
  const dynamic = options.rdzvBackend !== undefined && options.rdzvBackend !== 'static';
  if (!elastic && !(several && dynamic && options.nodeRank === undefined)) return undefined;
  options.backend = 'torchrun';
  return elastic
    ? `backend: torchrun (chosen for --nnodes ${String(nnodes)}: elastic membership is torchrun's dynamic rendezvous)`
    : `backend: torchrun (chosen for --rdzv-backend ${options.rdzvBackend} with no --node-rank: the rendezvous assigns node ranks)`;
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
  env: Env,
): string[] {
  const notes: string[] = pre.fromEnv.map((from) => `from the environment: ${from}`);
  applyPlainFlags(raw, options, pre, env);
  // torchrun runs `os.getenv("PYTHON_EXEC", sys.executable)`.
  if (options.python === undefined && env.PYTHON_EXEC && !('command' in options.entry)) {
    options.python = env.PYTHON_EXEC;
    notes.push(`python from PYTHON_EXEC: ${env.PYTHON_EXEC}`);
  }
  applyRunId(options, pre);
  const chosen = chooseBackend(options);
  if (chosen) notes.push(chosen);
  const { backend, rdzvBackend, nnodes } = options;
  if (backend === 'torchrun' && rdzvBackend === undefined && typeof nnodes === 'string' && nnodes.includes(':'))
    options.rdzvBackend = 'c10d';
  for (const line of ignoredFlags(pre.given)) notes.push(`ignored: ${line}`);
  return notes;
}

/**
 * TORCHELASTIC_ENABLE_FILE_TIMER=1 asks the launcher to serve torch's FileTimerServer (a named pipe the ranks' timers
 * write to). The native backend has none: say so before anything runs instead of a BrokenPipeError in a rank.
 */
export function refuseFileTimer(env: Env, options: LaunchOptions): void {
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
