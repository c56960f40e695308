import { readdirSync, readFileSync } from 'node:fs';

/** What /proc/<pid>/stat says about a process (Linux). */
export interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, the process's identity (a pid alone is reused). */
  start: number;
}

/** `/proc/<pid>/<name>` as text; undefined when the process is gone or there is no /proc. */
export function readProcFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The fields of a `/proc/<pid>/stat` text from field 3 (the state) on, so that field N is at index N - 3. The command
 * name (field 2) may hold spaces and parentheses: the fields are split after the last ')'.
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The stat of a process; undefined when it is gone or there is no /proc. */
export function readStat(pid: number): ProcStat | undefined {
  const stat = readProcFile(pid, 'stat');
  if (stat === undefined) return undefined;
  const fields = statFields(stat);
  return { pid, state: fields[0] ?? '', pgrp: Number(fields[2]), start: Number(fields[19]) };
}

/** Every pid in /proc; undefined where there is no /proc. */
export function listPids(): number[] | undefined {
  try {
    return readdirSync('/proc')
      .filter((name) => name.charCodeAt(0) <= 57)
      .map(Number);
  } catch {
    return undefined;
  }
}

/**
 * The mark every process of a run carries: its environment holds a path inside the run folder (each rank's
 * TORCHELASTIC_ERROR_FILE, inherited by whatever the rank starts). The folder name is random, so no other
 * process has it: a process that carries it is ours, whatever its pid and wherever its group.
 */
export function runMark(runDir: string): Buffer {
  return Buffer.from(`=${runDir}/`);
}

/** Whether a live process's environment carries `mark` (false when unreadable: gone, a zombie, another user's). */
export function carriesMark(pid: number, mark: Buffer): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`).includes(mark);
  } catch {
    return false;
  }
}

/** The live (non-zombie) processes of process group `pgid`; undefined where there is no /proc. */
export function groupMembers(pgid: number): ProcStat[] | undefined {
  const pids = listPids();
  if (!pids) return undefined;
  const members: ProcStat[] = [];
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') members.push(stat);
  }
  return members;
}

/** Every live process that carries `mark`. */
export function markedProcesses(mark: Buffer): ProcStat[] {
  const found: ProcStat[] = [];
  for (const pid of listPids() ?? []) {
    if (pid === process.pid || !carriesMark(pid, mark)) continue;
    const stat = readStat(pid);
    if (stat && stat.state !== 'Z') found.push(stat);
  }
  return found;
}
