import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch, UsageError } from 'ddprun';
import { CLI, FIXTURES, WORKER, listFiles, runCli, useSandboxes, type Sandbox } from './helpers.js';

const box = useSandboxes();

const ALLREDUCE = path.join(FIXTURES, 'launch', 'allreduce.py');

/** One usage error: exit 2, one `error:` line on stderr, nothing on stdout. */
function expectUsage(run: { code: number | null; stdout: string; stderr: string }, line: string): void {
  expect({ code: run.code, stderr: run.stderr, stdout: run.stdout }).toEqual({
    code: 2,
    stderr: `error: ${line}\n`,
    stdout: '',
  });
}

/** Runs the CLI in a private mount namespace after `setup` (shell, run as root): mounts vanish with the process. */
function inMountNamespace(setup: string, args: string[], s: Sandbox, cwd: string) {
  const run = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', `${setup} && exec "$@"`, 'sh', process.execPath, CLI, ...args],
    { env: s.env, cwd, encoding: 'utf8', timeout: 240_000 },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Runs the CLI with `args` from a current directory deleted after the `cd` into it. */
function fromDeletedDirectory(s: Sandbox, args: string[]) {
  const gone = path.join(s.dir, 'gone');
  mkdirSync(gone);
  const run = spawnSync(
    'sh',
    ['-c', `cd "${gone}" && rmdir "${gone}" && exec "$0" "$@"`, process.execPath, CLI, ...args],
    { env: s.env, encoding: 'utf8', timeout: 60_000 },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('a deleted current directory (item 16)', () => {
  it('runs a script given by absolute path from a deleted directory, as torchrun does', () => {
    const s = box();
    const run = fromDeletedDirectory(s, ['--nproc-per-node', '2', WORKER, 'ok', s.out]);
    expect(run.stderr).not.toContain('uv_cwd');
    expect(run.code).toBe(0);
    expect(readdirSync(s.out).sort()).toEqual(['0', '1']);
  }, 60_000);

  it('refuses a relative script under a deleted directory with one line, starting nothing', () => {
    expectUsage(
      fromDeletedDirectory(box(), ['train.py']),
      'The current directory no longer exists (it was deleted), so the relative path "train.py" of `entry.script` names nothing. Pass an absolute path, or change to an existing directory.',
    );
  });
});

describe('filesystem trouble is a clear error, not a raw errno (item 19)', () => {
  it('refuses a missing TMPDIR, creating nothing, and one that is a file', async () => {
    const s = box();
    const missing = path.join(s.dir, 'no-tmp');
    const env = { ...s.env, TMPDIR: missing };
    expectUsage(
      await runCli(['--nproc-per-node', '2', WORKER, 'ok', s.out], { env }),
      `The temp folder TMPDIR=${JSON.stringify(missing)} does not exist. Create it, or set TMPDIR to a folder you can write.`,
    );
    expect(existsSync(missing)).toBe(false);
    const file = path.join(s.dir, 'tmp-file');
    writeFileSync(file, '');
    expectUsage(
      await runCli([WORKER, 'ok', s.out], { env: { ...s.env, TMPDIR: file } }),
      `The temp folder TMPDIR=${JSON.stringify(file)} is not a directory. Set TMPDIR to a folder you can write.`,
    );
    expect(readdirSync(s.out)).toEqual([]);
  }, 60_000);

  it('refuses a read-only TMPDIR (a real read-only mount)', () => {
    const s = box();
    const ro = path.join(s.dir, 'ro');
    mkdirSync(ro);
    const run = inMountNamespace(
      `mount -t tmpfs -o ro tmpfs "${ro}"`,
      [WORKER, 'ok', s.out],
      { ...s, env: { ...s.env, TMPDIR: ro } },
      s.out,
    );
    expectUsage(
      run,
      `The temp folder TMPDIR=${JSON.stringify(ro)} is on a read-only file system. Set TMPDIR to a folder you can write.`,
    );
    expect(readdirSync(s.out)).toEqual([]);
  });

  // The CLI writes each run under `<log-dir>/<run id>_<random>/` (torchrun's layout), so a planted file cannot be in
  // its way; the library's `logDir` has no per-run folder, and a file where a rank's folder goes is refused there.
  it('refuses a logDir whose attempt_0/1 is a file before rank 0 starts', async () => {
    const s = box();
    const logs = path.join(s.dir, 'logs');
    mkdirSync(path.join(logs, 'attempt_0'), { recursive: true });
    writeFileSync(path.join(logs, 'attempt_0', '1'), '');
    const blocked = JSON.stringify(path.join(logs, 'attempt_0', '1'));
    const handle = launch({
      entry: { script: WORKER, args: ['ok', s.out] },
      nprocPerNode: 2,
      logDir: logs,
      console: false,
      record: false,
    });
    const started: number[] = [];
    handle.on('started', (e: { rank?: number }) => started.push(e.rank ?? -1));
    const error = await handle.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      `The \`logDir\` option names ${blocked}, but ${blocked} is a file, not a directory.`,
    );
    expect(started).toEqual([]);
    expect(readdirSync(s.out)).toEqual([]); // no rank ran
    expect(listFiles(logs)).toEqual(['attempt_0/1']);
  }, 60_000);

  it('refuses a 300-character --run-id before writing the discovery cache', async () => {
    const s = box();
    const run = await runCli(['--run-id', 'a'.repeat(300), WORKER, 'ok', s.out], { env: s.env });
    expectUsage(
      run,
      'Expected --run-id to be at most 128 characters long (it names temp folders), got `"aaaaaaaaaaaaaaaaaaaa…"` (string)',
    );
    expect(listFiles(s.dir)).toEqual([]);
  }, 60_000);

  it('keeps a key=value nested 20,000 deep as text (as yolo does) instead of overflowing the stack', async () => {
    const s = box();
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const run = await runCli(['train', '--dry-run', 'pkg.mod.Trainer', 'device=0,1', `x=${deep}`], {
      env: s.env,
      cwd: s.out,
    });
    expect(run.stderr).not.toContain('Maximum call stack');
    expect(run.code).toBe(0);
  }, 60_000);

  it('refuses --backend torchrun --rdzv-backend foo with one line, not a Python traceback', async () => {
    const s = box();
    expectUsage(
      await runCli(['--backend', 'torchrun', '--rdzv-backend', 'foo', WORKER, 'ok', s.out], { env: s.env }),
      "Expected --rdzv-backend to be one of 'static', 'c10d', 'etcd', 'etcd-v2', got `\"foo\"` (string)",
    );
  }, 60_000);
});

describe('a directory with __main__.py as the script (item 20)', () => {
  it('runs it on every rank, as python and torchrun do', async () => {
    const s = box();
    const app = path.join(s.dir, 'app');
    mkdirSync(app);
    writeFileSync(
      path.join(app, '__main__.py'),
      'import os, sys\nopen(os.path.join(sys.argv[1], os.environ["RANK"]), "w").write("ran")\n',
    );
    const run = await runCli(['--nproc-per-node', '2', app, s.out], { env: s.env });
    expect(run.code).toBe(0);
    expect(readdirSync(s.out).sort()).toEqual(['0', '1']);
    const empty = path.join(s.dir, 'empty');
    mkdirSync(empty);
    expectUsage(
      await runCli([empty], { env: s.env }),
      `The script ${JSON.stringify(empty)} is a directory without a readable \`__main__.py\` (looked for ${path.join(empty, '__main__.py')}).`,
    );
  }, 60_000);
});

describe('master addresses (item 21)', () => {
  it('runs a real all-reduce with --master-addr [::1]', () => {
    const s = box();
    // A timeout that ends ddprun (and so its ranks): the old code looped here forever.
    const ran = spawnSync(process.execPath, [CLI, '--nproc-per-node', '2', '--master-addr', '[::1]', ALLREDUCE], {
      env: s.env,
      encoding: 'utf8',
      timeout: 150_000,
    });
    const run = { code: ran.status, stdout: ran.stdout };
    expect(run.stdout).toContain('[rank0]:rank=0 world=2 sum=3');
    expect(run.code).toBe(0);
  }, 180_000);

  it('accepts a resolvable name with `_` (a compose service) and refuses one that does not resolve', () => {
    const s = box();
    const hosts = path.join(s.dir, 'hosts');
    writeFileSync(hosts, '127.0.0.1 localhost a_b.host\n::1 localhost\n');
    chmodSync(hosts, 0o644);
    const run = inMountNamespace(
      `mount --bind "${hosts}" /etc/hosts`,
      ['--nproc-per-node', '2', '--master-addr', 'a_b.host', ALLREDUCE],
      s,
      s.out,
    );
    expect(run.stdout).toContain('[rank1]:rank=1 world=2 sum=3');
    expect(run.code).toBe(0);
    const bad = inMountNamespace(
      `mount --bind "${hosts}" /etc/hosts`,
      ['--master-addr', 'no_such.host', ALLREDUCE],
      s,
      s.out,
    );
    expectUsage(
      bad,
      'Invalid --master-addr "no_such.host": The label "no_such" is not a valid host name label. A host name is made of letters, digits and hyphens separated by dots (no `_`, no leading or trailing hyphen, 63 characters per label). (It does not resolve either.) Expected an IP address or a host name.',
    );
  }, 240_000);
});

describe('wording (item 22)', () => {
  it.each([
    [
      ['--redirects', '5:1', WORKER],
      '--redirects names local rank 5, but the local ranks of this node are 0 to 0 (--nproc-per-node is 1).',
    ],
    [
      ['--master-addr', '', WORKER],
      'Invalid --master-addr "": It is empty. Pass the address of node 0, e.g. `10.0.0.1` or `node0.cluster`. Expected an IP address or a host name.',
    ],
    [
      ['train', 'foo.Bar'],
      'DDP needs more than one device, but no device was given: no device selects CUDA device 0 only. Name two or more GPUs, e.g. "0,1" or [0, 1].',
    ],
  ])(
    '%j says it once, clearly',
    async (args, line) => {
      const s = box();
      expectUsage(await runCli(args, { env: s.env, cwd: s.out }), line);
    },
    60_000,
  );
});
