import type { RunRecord } from './types.js';

// run.json is read by other processes and may be half-written, hand-edited or forged: every field a reader touches
// is checked here, once, before anything dereferences it. A small typed validator rather than a schema library: the
// record has two dozen fields, the CLI bundle loads this on every `ps`, and each check names the field and what it
// got, which is the report a user reads when a run folder is skipped.

/** Why a record was refused: `launcher.pid: expected an integer, got "x" (string)`. */
export type RecordProblem = string;

type Check = (value: unknown) => string | undefined;

function got(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  const shown = JSON.stringify(value);
  const text = typeof value === 'object' ? 'an object' : shown.length > 40 ? `${shown.slice(0, 40)}…` : shown;
  return typeof value === 'object' ? text : `${text} (${typeof value})`;
}

const expect =
  (what: string, ok: (v: unknown) => boolean): Check =>
  (v) =>
    ok(v) ? undefined : `expected ${what}, got ${got(v)}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = expect('a string', (v) => typeof v === 'string');
const int = expect('an integer', (v) => Number.isSafeInteger(v));
const count = expect('a non-negative integer', (v) => Number.isSafeInteger(v) && (v as number) >= 0);
const time = expect('an ISO time', (v) => typeof v === 'string' && Number.isFinite(Date.parse(v)));
const object = expect('an object', isObject);
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null ? undefined : check(v);
const oneOf = (...values: string[]): Check =>
  expect(values.map((v) => JSON.stringify(v)).join(' or '), (v) => values.includes(v as string));
const stringMap = expect(
  'an object of strings',
  (v) => isObject(v) && Object.values(v).every((s) => typeof s === 'string'),
);
const strings = expect('a list of strings', (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'));

/** The fields of an object, each with its check; `?` after a name: optional (absent or undefined). */
function fields(spec: Record<string, Check>): Check {
  return (value) => {
    if (!isObject(value)) return `expected an object, got ${got(value)}`;
    for (const [key, check] of Object.entries(spec)) {
      const optional = key.endsWith('?');
      const name = optional ? key.slice(0, -1) : key;
      const field = value[name];
      if (optional && field === undefined) continue;
      const problem = check(field);
      if (problem) return `${name}${problem.startsWith('expected') ? ': ' : '.'}${problem}`;
    }
    return undefined;
  };
}

const launcher = fields({
  pid: expect('a positive integer', (v) => Number.isSafeInteger(v) && (v as number) > 0),
  startTime: nullable(count),
  bootId: nullable(str),
});

const rankResult = fields({ rank: int, exitCode: nullable(int), signal: nullable(str), 'durationMs?': count });

const result = fields({
  exitCode: int,
  signal: nullable(str),
  ranks: (v) => (Array.isArray(v) ? v.map(rankResult).find(Boolean) : `expected a list, got ${got(v)}`),
  attempts: count,
  durationMs: count,
});

const rootCause = fields({
  rank: int,
  exitCode: nullable(int),
  signal: nullable(str),
  'traceback?': str,
  'message?': str,
});

const RECORD = fields({
  schema: expect('1', (v) => v === 1),
  id: str,
  argv: strings,
  source: oneOf('cli', 'library'),
  options: object,
  cwd: str,
  host: str,
  user: str,
  version: str,
  launcher,
  nprocPerNode: count,
  worldSize: count,
  maxRestarts: count,
  attempt: count,
  logDir: nullable(str),
  maxLogBytes: count,
  startedAt: time,
  'endedAt?': time,
  status: oneOf('running', 'succeeded', 'failed', 'stopped', 'preempted'),
  'exitCode?': int,
  'signal?': nullable(str),
  'rootCause?': rootCause,
  'result?': result,
  'resumedFrom?': fields({ id: str, checkpoint: str, 'epoch?': int }),
  'name?': str,
  'rankEnv?': stringMap,
  'slurm?': fields({ jobId: str, restartCount: count, nodeId: nullable(count) }),
  'kubernetes?': fields({ job: str, restartAttempt: count, index: nullable(count) }),
  'error?': fields({ name: str, message: str }),
});

/** The record when `value` has every field a reader uses, of the right type; else what is wrong with it. */
export function checkRecord(value: unknown): { record: RunRecord } | { problem: RecordProblem } {
  const problem = RECORD(value);
  return problem ? { problem } : { record: value as RunRecord };
}
