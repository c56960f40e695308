// What the numbers were measured on: hardware, versions, date, load.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

function firstLine(file, args) {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return undefined;
  return `${r.stdout}${r.stderr}`.trim().split('\n').at(-1);
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line ? line.split(':').slice(1).join(':').trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Hardware and software facts, printed at the top of BENCHMARKS.md. */
export function machineInfo(python) {
  return {
    date: new Date().toISOString(),
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    python: python ? `${python} (${firstLine(python, ['--version']) ?? 'unknown'})` : 'none with torch found',
    torch: python ? (firstLine(python, ['-c', 'import torch; print(torch.__version__)']) ?? 'not importable') : 'none',
    setpriv:
      existsSync('/usr/bin/setpriv') || existsSync('/bin/setpriv')
        ? 'present (ranks get a parent-death signal)'
        : 'missing',
    loadStart: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

/** Clock ticks per second of /proc/<pid>/stat times. */
export function clockTicks() {
  return Number(firstLine('getconf', ['CLK_TCK'])) || 100;
}
