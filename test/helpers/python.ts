import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPython } from '../../src/python/find-python.js';
import { PyFloat as PublicPyFloat } from 'ddprun/ultralytics';
import { PyFloat } from '../../src/python/literal.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

let found: Promise<string | null> | undefined;

/**
 * The interpreter with torch that tests run. In CI a missing torch fails the test; elsewhere it resolves
 * null and the caller skips with a reason (`torchSkipReason`).
 */
export function torchPython(): Promise<string | null> {
  found ??= findPython().then(
    (info) => info.python,
    (error: unknown) => {
      if (process.env.CI) throw error;
      return null;
    },
  );
  return found;
}

export const TORCH_SKIP_REASON = 'no Python with torch was found (set CI=1 to make this a failure)';

/** Runs `python args…` with extra env; resolves stdout, rejects with stderr in the message. */
export function runPython(
  python: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      python,
      args,
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${python} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** A typed JSON form, as the stand-in trainer's `typed()` writes it in Python. */
export type Typed =
  | ['bool', boolean]
  | ['int', string]
  | ['float', string]
  | ['str', string]
  | ['None']
  | ['list', Typed[]]
  | ['dict', [string, Typed][]];

function floatBits(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  return Buffer.from(view.buffer).toString('hex');
}

/** What the Python side must have received for `value` (the contract of toPythonLiteral, stated independently). */
export function typedOf(value: unknown): Typed {
  if (value === null) return ['None'];
  // A test of src/ (python/literal.test.ts) and one of the public entry (ultralytics/dist.test.ts) both ask: at run time
  // the entry's PyFloat (dist/) and the source's are two classes.
  if (value instanceof PyFloat || value instanceof PublicPyFloat) return ['float', floatBits(value.value)];
  switch (typeof value) {
    case 'boolean':
      return ['bool', value];
    case 'bigint':
      return ['int', value.toString()];
    case 'number':
      return Number.isSafeInteger(value) && !Object.is(value, -0)
        ? ['int', String(value)]
        : ['float', floatBits(value)];
    case 'string':
      return ['str', value];
  }
  if (Array.isArray(value)) return ['list', value.map(typedOf)];
  const record = value as Record<string, unknown>;
  return ['dict', Object.keys(record).map((k): [string, Typed] => [k, typedOf(record[k])])];
}

export interface StandInPython {
  /** `torch.__version__` it reports; null: it has no torch. @default '1.8.1' */
  torch?: string | null;
  /** `sys.version_info[:2]`. @default [3, 8] */
  pythonVersion?: [number, number];
}

/**
 * Writes an executable stand-in "python" at `file`: it answers findPython's spec check and probeTorch's
 * probe (both `python -c <script>`) with the given versions, and fails on anything else.
 */
export async function writeStandInPython(file: string, options: StandInPython = {}): Promise<string> {
  const torch = options.torch === undefined ? '1.8.1' : options.torch;
  const [major, minor] = options.pythonVersion ?? [3, 8];
  const probe = JSON.stringify({
    version: torch,
    python: [major, minor],
    cuda: false,
    count: 0,
    nccl: false,
    gloo: true,
  });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(
    file,
    `#!/bin/sh
case "$2" in
  *find_spec*) echo "$0"; echo "${major}.${minor}"; echo "${torch === null ? 'False' : 'True'}" ;;
  *"import torch"*) ${torch === null ? 'echo "ModuleNotFoundError: No module named torch" >&2; exit 1' : `echo '${probe}'`} ;;
  *) echo "stand-in python: unexpected arguments: $*" >&2; exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  return file;
}
