// Runs one contender once under measurement, in a fresh TMPDIR, with a tag that finds every process it started;
// afterwards kills by pid whatever is left, lists what it left in TMPDIR, and removes both.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { findFreeNetworkPort } from '../../dist/ultralytics/index.js';
import { killPids, sweepTagged } from './cleanup.mjs';
import { commandFor } from './contenders.mjs';
import { isAlive, startMeasured } from './proc.mjs';

function listTree(dir, prefix = '') {
  let out = [];
  let entries = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = path.join(prefix, e.name);
    out.push(rel);
    if (e.isDirectory()) out = out.concat(listTree(path.join(dir, e.name), rel));
  }
  return out;
}

export class Harness {
  constructor({ root, python, ddprunCmd, cwd, log }) {
    this.root = root;
    this.python = python;
    this.ddprunCmd = ddprunCmd;
    this.cwd = cwd;
    this.log = log;
    this.tagPrefix = `ddprun-bench-${process.pid}-`;
    this.count = 0;
    /** { bench, contender, kind: 'process' | 'temp', detail } */
    this.leftovers = [];
    /** Peak RSS per job: key `${bench}|${variant}|${contender}` → MB[]. */
    this.rss = new Map();
    this.commands = new Map();
    /** Each finished benchmark's result, by label: benchmarks 6 and 9 read the runs of others. */
    this.finished = new Map();
  }

  /** Runs `contender` on `job` once. `during(m, ctx)` drives the run (default: wait for exit) and returns its value. */
  /** The command `contender` would run for `job` with `port`. */
  commandFor(contender, job, port) {
    return commandFor(contender, job, { python: this.python, ddprunCmd: this.ddprunCmd, port });
  }

  async run({ bench, variant, contender, job, env = {}, stdout, during, command }) {
    const n = ++this.count;
    const tag = `${this.tagPrefix}${n}`;
    const tmpDir = path.join(this.root, `tmp-${n}`);
    const workDir = path.join(this.root, `work-${n}`);
    mkdirSync(tmpDir);
    mkdirSync(workDir);
    const port = await findFreeNetworkPort();
    const ctx = { workDir, tmpDir, port, pids: [] };
    const cmd = command ? command(ctx) : this.commandFor(contender, job, port);
    this.commands.set(`${bench}|${variant}|${contender}`, cmd.display);
    const fullEnv = {
      ...process.env,
      NO_COLOR: '1',
      ...(typeof env === 'function' ? env(ctx) : env),
      BENCH_TAG: tag,
      TMPDIR: tmpDir,
      // ddprun records its runs here (one store for the whole bench, as a user has one), never in the real one.
      DDPRUN_STATE_DIR: path.join(this.root, 'state'),
    };
    const m = startMeasured(cmd.file, cmd.args, {
      env: fullEnv,
      cwd: this.cwd,
      stdout: typeof stdout === 'function' ? stdout(ctx) : stdout,
    });
    let value;
    let measured;
    try {
      value = during ? await during(m, ctx) : await m.exited;
    } finally {
      // A launcher still running when `during` is done (the floor, a hung run) is killed with its process group.
      if (m.pid !== undefined && isAlive(m.pid)) {
        try {
          process.kill(-m.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      measured = await m.exited;
      killPids(ctx.pids);
      for (const p of await sweepTagged(tag, 1500))
        this.leftovers.push({ bench, contender, kind: 'process', detail: `pid ${p.pid}: ${p.cmd}` });
      for (const f of listTree(tmpDir))
        if (!f.includes(path.sep)) this.leftovers.push({ bench, contender, kind: 'temp', detail: f });
      rmSync(tmpDir, { recursive: true, force: true });
      rmSync(workDir, { recursive: true, force: true });
    }
    if (measured.code !== 0 && !during)
      this.log(
        `  ${contender} run failed: exit ${measured.code ?? measured.signal}: ${measured.stderrTail.trim().split('\n').slice(-3).join(' | ')}`,
      );
    const key = `${bench}|${variant}|${contender}`;
    if (!this.rss.has(key)) this.rss.set(key, []);
    this.rss.get(key).push(measured.peakRssMb);
    return { value, measured };
  }

  /** `reps` rounds of every contender in turn (ddprun, torchrun, floor, ddprun, …). */
  async alternate(reps, contenders, fn) {
    for (let i = 0; i < reps; i++) for (const c of contenders) await fn(c, i);
  }

  /** Last resort at the end (or on Ctrl-C): every process of every run. */
  async sweepAll() {
    return sweepTagged(this.tagPrefix, 0);
  }
}
