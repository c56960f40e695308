import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { identityState, processIdentity, type ProcessIdentity } from '../os/process-identity.js';
import { writeJsonAtomicSync } from './json-file.js';
import { DIR_MODE } from './paths.js';
import { prepareStore, storeProblem } from './trust.js';

// #24 item 11: the dashboard's URL (token included) can be found again once the terminal that printed it is gone.
// Each serving dashboard keeps a file in the private state dir (0700, files 0600: only its user can read the token),
// naming the process that serves it; the file goes when the dashboard closes, and one whose process is gone (killed)
// is ignored and removed by the next reader.

export const DASHBOARDS_DIR = 'dashboards';

/** A serving dashboard, as `ddprun ui --status` and `ddprun ps` print it. */
export interface DashboardEntry {
  url: string;
  /** The address it listens on. */
  host: string;
  /** `ddprun ui`, or a launch's `--ui` (with its run). */
  source: 'ui' | 'launch';
  startedAt: string;
  server: ProcessIdentity;
}

function dashboardsDir(state: string): string {
  return path.join(state, DASHBOARDS_DIR);
}

/**
 * Records a serving dashboard in the store at `state`; returns the function that removes the record (call it when the
 * dashboard closes). Never throws: a store that cannot be written only means the URL is not findable later.
 */
export function registerDashboard(state: string, entry: Omit<DashboardEntry, 'server' | 'startedAt'>): () => void {
  try {
    prepareStore(state);
    const dir = dashboardsDir(state);
    try {
      mkdirSync(dir, { mode: DIR_MODE });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const stats = lstatSync(dir);
    if (!stats.isDirectory() || stats.uid !== process.getuid?.() || (stats.mode & 0o077) !== 0) return () => {};
    const file = path.join(dir, `${process.pid}-${randomBytes(4).toString('hex')}.json`);
    const record: DashboardEntry = { ...entry, startedAt: new Date().toISOString(), server: processIdentity() };
    writeJsonAtomicSync(file, record);
    return () => rmSync(file, { force: true });
  } catch {
    return () => {};
  }
}

function readEntry(file: string): DashboardEntry | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<DashboardEntry>;
    const server = value.server;
    if (typeof value.url !== 'string' || !/^http:\/\//.test(value.url) || typeof server?.pid !== 'number')
      return undefined;
    if (typeof server.host !== 'string') return undefined;
    return value as DashboardEntry;
  } catch {
    return undefined;
  }
}

/**
 * The dashboards serving now (this host's, by their process identity; another host's when the state dir is shared),
 * oldest first. Nothing when the store is one another user could have written: its URLs could lead anywhere.
 */
export function listDashboards(state: string): DashboardEntry[] {
  if (storeProblem(state) !== undefined) return [];
  const dir = dashboardsDir(state);
  let names: string[];
  try {
    const stats = lstatSync(dir);
    if (!stats.isDirectory() || stats.uid !== process.getuid?.() || (stats.mode & 0o077) !== 0) return [];
    names = readdirSync(dir).filter((name) => /^\d+-[0-9a-f]{8}\.json$/.test(name));
  } catch {
    return [];
  }
  const live: DashboardEntry[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const entry = readEntry(file);
    const state = entry ? identityState(entry.server) : 'dead';
    if (entry && state !== 'dead') live.push(entry);
    // Its server is gone (killed before it could remove it), or it is not a dashboard record: stale.
    else rmSync(file, { force: true });
  }
  return live.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
