import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownerState, processOwner, type EntryFileOwner } from '../../ultralytics/entry-file.js';
import { markedProcesses, readProcFile, readStat, runMark } from '../../os/proc.js';
import { signalGroup } from './terminate.js';

/** `ddprun-<launcher pid>-<12 hex>`: the name `resolveOptions` gives a launch's run folder in the temp dir. */
const RUN_FOLDER = /^ddprun-(\d+)-[0-9a-f]{12}$/;
const OWNER_FILE = 'owner.json';
const KILLED_WAIT_MS = 3000;

/** Creates the run folder (0700) with its owner record: the launcher's pid, start time, boot and host. */
export function createRunFolder(runDir: string): void {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(runDir, OWNER_FILE), JSON.stringify(processOwner()), { mode: 0o600 });
}

function readOwner(dir: string, pidFromName: number): EntryFileOwner {
  try {
    const raw = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as Partial<EntryFileOwner>;
    if (raw.pid === pidFromName && typeof raw.host === 'string')
      return {
        pid: raw.pid,
        start: typeof raw.start === 'number' ? raw.start : null,
        boot: typeof raw.boot === 'string' ? raw.boot : null,
        host: raw.host,
      };
  } catch {
    // No record (a folder that was being created): the pid in the name, with no start time to check.
  }
  return { pid: pidFromName, start: null, boot: null, host: os.hostname() };
}

/**
 * SIGKILLs every process that carries the run's mark, and its group (a marked process is ours, so is its group),
 * and waits until they are gone. Returns how many marked processes there were.
 */
export async function killMarked(runDir: string): Promise<number> {
  const mark = runMark(runDir);
  const found = markedProcesses(mark);
  for (const p of found) {
    // Checked again just before the signal: the process is still the one that carried the mark.
    if (readStat(p.pid)?.start !== p.start) continue;
    if (p.pgrp > 1) signalGroup(p.pgrp, 'SIGKILL');
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + KILLED_WAIT_MS;
  while (found.some((p) => alive(p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return found.length;
}

function alive(p: { pid: number; start: number }): boolean {
  const stat = readStat(p.pid);
  return stat !== undefined && stat.start === p.start && stat.state !== 'Z';
}

export interface SweptRunFolder {
  dir: string;
  launcherPid: number;
  /** Processes of the run that were still alive, and were ended (with `dryRun`: 0, nothing is ended). */
  ended: number;
  /** With `dryRun`: the processes that carry the run's mark, which a real sweep would end. */
  survivors?: { pid: number; command: string }[];
}

/** A process's name (`/proc/<pid>/comm`), for a listing. */
const commandOf = (pid: number) => readProcFile(pid, 'comm')?.trim() ?? '?';

/**
 * Finds the run folders (in `tmpDir`, default the temp dir) whose launcher is dead (pid gone, or reused: start time
 * and boot are checked) — left when ddprun and its watchdog were both SIGKILLed — ends the processes that still carry
 * the run's mark (the ranks' children), and removes the folders. Only this user's folders with the exact name.
 * With `dryRun`, ends and removes nothing: lists each folder with the processes a real sweep would end.
 */
export async function sweepStaleRunFolders(
  tmpDir: string = os.tmpdir(),
  options: { dryRun?: boolean } = {},
): Promise<SweptRunFolder[]> {
  let names: string[];
  try {
    names = readdirSync(tmpDir);
  } catch {
    return [];
  }
  const swept: SweptRunFolder[] = [];
  for (const name of names) {
    const match = RUN_FOLDER.exec(name);
    if (!match) continue;
    const dir = path.join(tmpDir, name);
    try {
      const stats = lstatSync(dir);
      if (!stats.isDirectory() || stats.uid !== process.getuid?.()) continue;
    } catch {
      continue;
    }
    const owner = readOwner(dir, Number(match[1]));
    if (owner.pid === process.pid || ownerState(owner) !== 'dead') continue;
    if (options.dryRun) {
      const survivors = markedProcesses(runMark(dir)).map((p) => ({ pid: p.pid, command: commandOf(p.pid) }));
      swept.push({ dir, launcherPid: owner.pid, ended: 0, survivors });
      continue;
    }
    const ended = await killMarked(dir);
    rmSync(dir, { recursive: true, force: true });
    swept.push({ dir, launcherPid: owner.pid, ended });
  }
  return swept;
}
