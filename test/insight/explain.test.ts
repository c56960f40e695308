import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launch, type LaunchOptions, type LaunchResult } from 'ddprun';
import { tempDir } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';
import { fixture, go, rankPid } from './helpers.js';

const python = (await torchPython()) ?? undefined;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function dir(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
}

/** Runs `wait_then.py` on 2 ranks; rank 1 fails as `mode` says once `act(pid)` has run. */
async function failing(
  mode: string,
  extra: string[] = [],
  act: (pid: number) => void = () => {},
  options: Partial<LaunchOptions> = {},
): Promise<LaunchResult> {
  const pids = dir();
  const handle = launch({
    entry: { script: fixture('wait_then.py'), args: [pids, mode, ...extra] },
    nprocPerNode: 2,
    console: false,
    python,
    ...options,
  });
  const pid = await rankPid(pids, 1);
  act(pid);
  go(pids);
  return handle.result;
}

describe.skipIf(!python)('failures explained', () => {
  it('calls a rank SIGKILLed from outside `killed`, not an OOM kill', async () => {
    const result = await failing('sleep', [], (pid) => process.kill(pid, 'SIGKILL'));
    expect(result.rootCause?.signal).toBe('SIGKILL');
    expect(result.rootCause?.explanation).toEqual({
      kind: 'killed',
      message: `Rank 1 (pid ${result.rootCause?.pid}) was killed by SIGKILL from outside the job (not by ddprun, and not by the kernel’s OOM killer).`,
      hint: "Something outside the job sent SIGKILL: a scheduler's time or memory limit, a person or a script running kill; the scheduler's log (or the audit log) says who.",
    });
  });

  it('calls a real segfault `segfault` and names the function and line from the faulthandler traceback', async () => {
    const result = await failing('segfault', [], () => {}, { env: { PYTHONFAULTHANDLER: '1' } });
    expect(result.rootCause?.signal).toBe('SIGSEGV');
    expect(result.rootCause?.explanation?.kind).toBe('segfault');
    expect(result.rootCause?.explanation?.message).toBe(
      'Rank 1 crashed with SIGSEGV (a segmentation fault in native code) in `string_at` (__init__.py:519), called from `crash` at wait_then.py:17.',
    );
    expect(result.rootCause?.traceback).toContain('Fatal Python error: Segmentation fault');
  });

  it('tells how to get the Python stack of a segfault when there is no faulthandler traceback', async () => {
    const result = await failing('segfault');
    expect(result.rootCause?.explanation).toMatchObject({
      kind: 'segfault',
      message: 'Rank 1 crashed with SIGSEGV (a segmentation fault in native code).',
    });
    expect(result.rootCause?.explanation?.hint).toMatch(/^Rerun with PYTHONFAULTHANDLER=1/);
  });

  it('names the Python used for an import error, and the other Python where the module is found', async () => {
    // A second interpreter (a venv) that has the module; it is found through PATH as findPython would find it.
    const venv = path.join(dir(), 'venv');
    execFileSync(python as string, ['-m', 'venv', '--without-pip', venv]);
    const site = execFileSync(
      path.join(venv, 'bin', 'python'),
      ['-c', 'import sysconfig;print(sysconfig.get_paths()["purelib"])'],
      {
        encoding: 'utf8',
      },
    ).trim();
    mkdirSync(path.join(site, 'ddprun_probe_missing_module'));
    writeFileSync(path.join(site, 'ddprun_probe_missing_module', '__init__.py'), '');
    const savedPath = process.env.PATH;
    process.env.PATH = `${path.join(venv, 'bin')}:${savedPath}`;
    cleanups.push(() => void (process.env.PATH = savedPath));
    const result = await failing('import');
    expect(result.rootCause?.explanation).toEqual({
      kind: 'import-error',
      message: `Rank 1 could not import \`ddprun_probe_missing_module\` with ${python} (ModuleNotFoundError).`,
      hint: `\`ddprun_probe_missing_module\` is installed for ${path.join(venv, 'bin', 'python3')} (${path.join(site, 'ddprun_probe_missing_module', '__init__.py')}): run with --python ${path.join(venv, 'bin', 'python3')}, or install it for ${python}.`,
    });
  });

  it('says when no other Python has the missing module', async () => {
    const result = await failing('import');
    expect(result.rootCause?.explanation?.kind).toBe('import-error');
    expect(result.rootCause?.explanation?.hint).toBe(
      `No other Python found here has \`ddprun_probe_missing_module\`: install it for ${python} (\`${python} -m pip install …\`; the package name may differ from the module's), or check PYTHONPATH and the working directory.`,
    );
  });

  it('recognises a CUDA OOM from the traceback torch prints (torch 2.x wording)', async () => {
    const result = await failing('traceback', [fixture('tracebacks/cuda_oom.txt')]);
    expect(result.rootCause?.explanation?.kind).toBe('cuda-oom');
    expect(result.rootCause?.explanation?.message).toBe(
      'Rank 1 ran out of GPU memory on GPU 0: it tried to allocate 22.00 MiB with 11.06 MiB free of 23.65 GiB.',
    );
  });

  it('recognises a CUDA OOM in the older wording', async () => {
    const result = await failing('traceback', [fixture('tracebacks/cuda_oom_legacy.txt')]);
    expect(result.rootCause?.explanation?.message).toBe(
      'Rank 1 ran out of GPU memory on GPU 0: it tried to allocate 12.50 MiB with 9.28 GiB free of 10.92 GiB.',
    );
  });

  it('recognises an NCCL error and points at NCCL_DEBUG and the socket interface', async () => {
    const result = await failing('traceback', [fixture('tracebacks/nccl_error.txt')]);
    expect(result.rootCause?.explanation?.kind).toBe('nccl');
    expect(result.rootCause?.explanation?.message).toBe('NCCL failed on rank 1: unhandled system error.');
    expect(result.rootCause?.explanation?.hint).toMatch(/NCCL_DEBUG=INFO.*NCCL_SOCKET_IFNAME/);
  });

  it("recognises NCCL's watchdog timeout even though the process dies of SIGABRT", async () => {
    const result = await failing('traceback-abort', [fixture('tracebacks/nccl_watchdog.txt')]);
    expect(result.rootCause?.signal).toBe('SIGABRT');
    expect(result.rootCause?.explanation).toMatchObject({
      kind: 'nccl',
      message: "Rank 1's NCCL ALLREDUCE timed out after 600 s (NCCL watchdog): some rank stopped calling it.",
    });
  });

  it('calls a taken MASTER_PORT `port-in-use`', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => sockets.add(socket.on('error', () => {})));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as net.AddressInfo).port;
    const result = await launch({
      entry: { script: path.resolve('test/fixtures/launch/allreduce.py') },
      nprocPerNode: 2,
      masterPort: port,
      console: false,
      python,
    }).result;
    expect(result.rootCause?.explanation).toMatchObject({
      kind: 'port-in-use',
      message: `Rank 0 could not bind MASTER_PORT ${port}: the address is already in use.`,
    });
  });

  it('calls torch giving up on a rank that never joins `rendezvous-timeout`', async () => {
    const result = await launch({
      entry: { script: fixture('rdzv_timeout.py') },
      nprocPerNode: 2,
      console: false,
      python,
    }).result;
    expect(result.rootCause?.rank).toBe(0);
    expect(result.rootCause?.explanation).toMatchObject({
      kind: 'rendezvous-timeout',
      message: 'Rank 0 gave up waiting for the other ranks to join (rendezvous timed out).',
    });
  });

  it('never blames a rank whose collective broke because its peer went away', async () => {
    const result = await launch({ entry: { script: fixture('peer_gone.py') }, nprocPerNode: 2, console: false, python })
      .result;
    expect(result.rootCause?.rank).toBe(1);
    expect(result.rootCause?.explanation).toEqual({
      kind: 'exception',
      message: 'Rank 1 raised RuntimeError: rank 1 read a corrupt batch.',
      hint: 'The traceback below shows where; fix that error and rerun.',
    });
  });
});
