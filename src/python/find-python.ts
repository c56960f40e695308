import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PythonNotFoundError, TorchProbeError, UsageError } from '../errors.js';
import { allOnPath, isExecutableFile, which } from '../os/which.js';
import { discoveryKey, pyenvFiles, readDiscovery, stageDiscovery } from './discovery-cache.js';

/** What `probeTorch` learns about a Python's torch. */
export interface TorchInfo {
  /** `torch.__version__`, e.g. `2.11.0+cu128` or `1.13.0a0`. */
  version: string;
  /** `[major, minor]` parsed from `version`. */
  major: number;
  minor: number;
  /** `sys.version_info[:2]` of that interpreter. */
  pythonVersion: [number, number];
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  nccl: boolean;
  gloo: boolean;
}

/** An interpreter that can import torch: the one that plays `sys.executable`. */
export interface PythonInfo {
  /** Absolute path of the interpreter (`sys.executable`, so pyenv shims are resolved). */
  python: string;
  /** Where it was found. */
  source: 'option' | 'DDPRUN_PYTHON' | 'VIRTUAL_ENV' | 'CONDA_PREFIX' | 'PATH' | 'system';
  /** The Python version, `[major, minor]`. */
  pythonVersion: [number, number];
  /** torch's `__version__` as its `version.py` says (read, not imported); undefined when unknown. */
  torchVersion?: string;
}

/** torch's version from `torch/version.py` beside `torch/__init__.py`, without importing torch (milliseconds). */
export function torchVersionFromOrigin(torchOrigin: string): string | undefined {
  if (!torchOrigin) return undefined;
  try {
    const text = readFileSync(path.join(path.dirname(torchOrigin), 'version.py'), 'utf8');
    return /^__version__\s*=\s*['"]([^'"]+)['"]/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

export interface FindPythonOptions {
  /** An explicit interpreter: used as is, and an error when it has no torch. */
  python?: string;
  /** Environment to read `DDPRUN_PYTHON`, `VIRTUAL_ENV`, `CONDA_PREFIX` and `PATH` from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Interpreters tried after PATH: where distributions put a system Python with packaged torch. */
export const SYSTEM_PYTHONS: readonly string[] = [
  '/usr/bin/python3',
  '/usr/local/bin/python3',
  '/opt/conda/bin/python3',
  '/opt/conda/bin/python',
];

export const INSTALL_TORCH_HINT =
  'Install PyTorch for one of them (Debian/Ubuntu: `apt-get install -y python3-torch`, or `ddprun doctor --fix`; elsewhere `pip install torch`), or name an interpreter with --python / DDPRUN_PYTHON.';

// find_spec does not import torch: the discovery costs one interpreter start (~20 ms), not a torch import (~1 s).
const SPEC_SCRIPT =
  'import sys, importlib.util as u; s = u.find_spec("torch"); print(sys.executable); print("%d.%d.%d" % sys.version_info[:3]); print(s is not None); print(s.origin if s and s.origin else ""); print("\\n".join(p or "." for p in sys.path))';

const PROBE_SCRIPT = `import json, sys
import torch
d = getattr(torch, 'distributed', None)
avail = bool(d and d.is_available())
print(json.dumps({
  'version': torch.__version__,
  'python': list(sys.version_info[:2]),
  'cuda': bool(torch.cuda.is_available()),
  'count': int(torch.cuda.device_count()) if torch.cuda.is_available() else 0,
  'nccl': bool(avail and d.is_nccl_available()),
  'gloo': bool(avail and d.is_gloo_available()),
}))`;

export interface Spec {
  executable: string;
  pythonVersion: [number, number];
  /** `3.11.7` */
  release: string;
  hasTorch: boolean;
  /** torch's `__init__.py`, when found. */
  torchOrigin: string;
  /** `sys.path`: where installing torch would change a folder. */
  sysPath: string[];
}

const specCache = new Map<string, Promise<Spec>>();
const torchCache = new Map<string, Promise<TorchInfo>>();

const execFileAsync = promisify(execFile);

async function run(python: string, script: string, timeoutMs: number): Promise<string> {
  try {
    const options = { timeout: timeoutMs, env: { ...process.env, PYTHONWARNINGS: 'ignore' } };
    return (await execFileAsync(python, ['-c', script], options)).stdout;
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) || (error as Error).message;
    throw new TorchProbeError(detail, python, { cause: error });
  }
}

/** Starts `python` once (per process) and reads its executable, version, sys.path and whether it has torch. */
export function inspectPython(python: string): Promise<Spec> {
  let cached = specCache.get(python);
  if (!cached) {
    cached = run(python, SPEC_SCRIPT, 15_000).then((out) => {
      const [executable = python, version = '0.0', has = 'False', torchOrigin = '', ...sysPath] = out
        .replace(/\n$/, '')
        .split('\n');
      const [major = 0, minor = 0] = version.split('.').map(Number);
      return {
        executable: executable || python,
        pythonVersion: [major, minor],
        release: version,
        hasTorch: has === 'True',
        torchOrigin,
        sysPath: sysPath.filter((p) => path.isAbsolute(p)),
      };
    });
    specCache.set(python, cached);
  }
  return cached;
}

/** Parses `1.13.0a0`, `2.11.0+cu128`, `2.6.0.dev20250101` into `[major, minor]`. */
export function parseTorchVersion(version: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(version);
  if (!match) throw new UsageError(`Cannot parse the torch version ${JSON.stringify(version)}`, 'torchVersion');
  return [Number(match[1]), Number(match[2])];
}

/** Whether a `[major, minor]` version (torch's, Python's) is at least `major.minor`. */
export function versionAtLeast(version: readonly [number, number], major: number, minor: number): boolean {
  return version[0] > major || (version[0] === major && version[1] >= minor);
}

/**
 * Imports torch in `python` and reports its version, CUDA devices and backends; cached per interpreter for the process.
 */
export function probeTorch(python: string): Promise<TorchInfo> {
  let cached = torchCache.get(python);
  if (!cached) {
    cached = run(python, PROBE_SCRIPT, 120_000).then((out) => {
      const raw = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
        version: string;
        python: [number, number];
        cuda: boolean;
        count: number;
        nccl: boolean;
        gloo: boolean;
      };
      const [major, minor] = parseTorchVersion(raw.version);
      return {
        version: raw.version,
        major,
        minor,
        pythonVersion: raw.python,
        cudaAvailable: raw.cuda,
        cudaDeviceCount: raw.count,
        nccl: raw.nccl,
        gloo: raw.gloo,
      };
    });
    cached.catch(() => torchCache.delete(python));
    torchCache.set(python, cached);
  }
  return cached;
}

/** Every interpreter `findPython` would try, in order, with where it came from. */
export function pythonCandidates(
  env: NodeJS.ProcessEnv = process.env,
): { python: string; source: PythonInfo['source'] }[] {
  const out: { python: string; source: PythonInfo['source'] }[] = [];
  const seen = new Set<string>();
  const add = (python: string, source: PythonInfo['source']) => {
    if (!seen.has(python)) {
      seen.add(python);
      out.push({ python, source });
    }
  };
  if (env.VIRTUAL_ENV) add(path.join(env.VIRTUAL_ENV, 'bin', 'python'), 'VIRTUAL_ENV');
  if (env.CONDA_PREFIX) add(path.join(env.CONDA_PREFIX, 'bin', 'python'), 'CONDA_PREFIX');
  for (const name of ['python3', 'python']) for (const file of allOnPath(name, env.PATH)) add(file, 'PATH');
  for (const file of SYSTEM_PYTHONS) if (isExecutableFile(file)) add(file, 'system');
  return out;
}

async function explicit(python: string, source: 'option' | 'DDPRUN_PYTHON', label: string): Promise<PythonInfo> {
  const resolved = which(python);
  if (!resolved || !isExecutableFile(resolved)) {
    throw new UsageError(
      `${label} ${JSON.stringify(python)} is not an executable file. Pass the path of a Python interpreter that has torch.`,
      'python',
    );
  }
  let spec: Spec;
  try {
    spec = await inspectPython(resolved);
  } catch (error) {
    throw new UsageError(
      `${label} ${JSON.stringify(python)} did not run as a Python interpreter: ${(error as Error).message}`,
      'python',
      { cause: error },
    );
  }
  if (!spec.hasTorch) {
    throw new UsageError(`${label} ${JSON.stringify(python)} cannot import torch. ${INSTALL_TORCH_HINT}`, 'python');
  }
  // The file the user named is what the ranks run (a wrapper script stays a wrapper), not the interpreter it starts.
  return {
    python: path.resolve(resolved),
    source,
    pythonVersion: spec.pythonVersion,
    torchVersion: torchVersionFromOrigin(spec.torchOrigin),
  };
}

/**
 * Finds the interpreter that plays `sys.executable` for the ranks: `options.python`, else `DDPRUN_PYTHON`,
 * else an active virtualenv/conda, else the first `python3`/`python` on PATH that can import torch,
 * else a system interpreter (`/usr/bin/python3`, …) that can.
 */
export async function findPython(options: FindPythonOptions = {}): Promise<PythonInfo> {
  const env = options.env ?? process.env;
  if (options.python !== undefined) return explicit(options.python, 'option', 'The `python` option');
  if (env.DDPRUN_PYTHON) return explicit(env.DDPRUN_PYTHON, 'DDPRUN_PYTHON', 'DDPRUN_PYTHON');
  const key = discoveryKey(env);
  const remembered = readDiscovery<PythonInfo>(key);
  // An entry without torchVersion was written before the version was recorded (or the version could not be read):
  // trusting it would give the ranks the wrong NCCL variables (torch < 2.2 reads only NCCL_ASYNC_ERROR_HANDLING).
  if (remembered?.torchVersion !== undefined) return remembered;
  const tried: { python: string; reason: string }[] = [];
  const candidates = pythonCandidates(env);
  const dependsOn: string[] = pyenvFiles(env);
  // All candidates are asked at once (a pyenv shim alone takes ~90 ms to answer); the first in order with torch wins.
  const specs = candidates.map((candidate) =>
    inspectPython(candidate.python).then(
      (spec) => ({ spec }),
      (error: Error) => ({ error }),
    ),
  );
  for (const [i, candidate] of candidates.entries()) {
    const outcome = await (specs[i] as Promise<{ spec: Spec } | { error: Error }>);
    dependsOn.push(candidate.python);
    if ('error' in outcome) {
      tried.push({ python: candidate.python, reason: `did not run: ${outcome.error.message}` });
      continue;
    }
    dependsOn.push(outcome.spec.executable, ...outcome.spec.sysPath);
    if (outcome.spec.hasTorch) {
      const info: PythonInfo = {
        python: outcome.spec.executable,
        source: candidate.source,
        pythonVersion: outcome.spec.pythonVersion,
        torchVersion: torchVersionFromOrigin(outcome.spec.torchOrigin),
      };
      stageDiscovery(key, info, [...dependsOn, outcome.spec.torchOrigin].filter(Boolean));
      return info;
    } else {
      tried.push({ python: candidate.python, reason: 'no torch' });
    }
  }
  const list = tried.length
    ? tried.map((t) => `  ${t.python}: ${t.reason}`).join('\n')
    : '  (no Python interpreter found)';
  throw new PythonNotFoundError(
    `No Python interpreter with torch was found. Tried:\n${list}\n${INSTALL_TORCH_HINT}`,
    tried,
  );
}
