import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { identityState, processIdentity, type ProcessIdentity } from '../os/process-identity.js';
import { FILE_MODE } from './paths.js';
import { listRuns, readRunEvents } from './read.js';
import type { RunInfo, StoreOptions } from './types.js';

// One resume of a run at a time (#22 item 3): two resumes of one run would train into the same save dir. The lock is
// a file in the resumed run's folder holding its holder's identity (pid, start time, boot, host); it dies with its
// holder: a lock whose holder is gone is stale and taken over. A resumed run's record says what it resumes, so once a
// resume has started, the run is refused for good, naming the run that continued it.

export const RESUME_LOCK_FILE = 'resume.lock';

function readHolder(file: string): ProcessIdentity | undefined | 'missing' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const who = JSON.parse(text) as ProcessIdentity;
    return typeof who.pid === 'number' && typeof who.host === 'string' ? who : undefined;
  } catch {
    return undefined; // not written by ddprun: stale
  }
}

const same = (a: ProcessIdentity | undefined, b: ProcessIdentity | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Links a complete lock file into place: it appears whole or not at all; false when one is there. */
function tryCreate(lock: string, me: ProcessIdentity): boolean {
  const temp = `${lock}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, `${JSON.stringify(me)}\n`, { mode: FILE_MODE, flag: 'wx' });
  try {
    linkSync(temp, lock);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** A resume of the run is in progress (a UsageError: exit 2, nothing started). */
function busy(id: string, holder: ProcessIdentity | undefined): UsageError {
  const who = holder ? `ddprun (pid ${holder.pid} on ${holder.host})` : 'another ddprun';
  return new UsageError(
    `The run ${id} is being resumed by ${who}: two resumes would train into the same folder. Nothing was started.`,
    'id',
  );
}

/**
 * Takes a stale lock (its holder gone) away; true when it did. What it moved aside is put back when it turns out to be
 * a live holder's lock that replaced the stale one meanwhile.
 */
function takeStale(lock: string, stale: ProcessIdentity | undefined): boolean {
  const aside = `${lock}.${randomBytes(6).toString('hex')}.stale`;
  try {
    renameSync(lock, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  const taken = readHolder(aside);
  if (taken !== 'missing' && !same(taken, stale)) {
    try {
      linkSync(aside, lock);
    } catch {
      // Someone else took the place meanwhile: they hold the lock now.
    }
    rmSync(aside, { force: true });
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}

/**
 * Locks the run folder `dir` of run `id` for one resume by this process; returns the function that releases it.
 * Throws a UsageError, having changed nothing, while another live process holds it.
 */
export function lockForResume(dir: string, id: string): () => void {
  const lock = path.join(dir, RESUME_LOCK_FILE);
  const me = processIdentity();
  for (let tries = 0; tries < 5; tries++) {
    if (tryCreate(lock, me)) {
      const held = readHolder(lock);
      if (held === 'missing' || !same(held, me)) throw busy(id, held === 'missing' ? undefined : held);
      return () => {
        const now = readHolder(lock);
        if (now !== 'missing' && same(now, me)) rmSync(lock, { force: true });
      };
    }
    const holder = readHolder(lock);
    if (holder === 'missing') continue;
    if (holder && identityState(holder) !== 'dead') throw busy(id, holder);
    if (!takeStale(lock, holder)) throw busy(id, undefined);
  }
  throw busy(id, undefined);
}

/** The newest run whose record says it resumes run `id`; undefined when none does. */
export function continuationOf(id: string, options: StoreOptions = {}): RunInfo | undefined {
  return listRuns({ ...options, all: true }).find((run) => run.resumedFrom?.id === id);
}

/** The runs that continued run `id`, one resume after another (each the newest resume of the one before). */
export function continuationChain(id: string, options: StoreOptions = {}): RunInfo[] {
  const runs = listRuns({ ...options, all: true });
  const chain: RunInfo[] = [];
  const seen = new Set([id]);
  for (let from = id; ;) {
    const next = runs.find((run) => run.resumedFrom?.id === from);
    if (!next || seen.has(next.id)) return chain;
    chain.push(next);
    seen.add(next.id);
    from = next.id;
  }
}

/** `n/N` when run `run` trained its run folder to its last epoch (from its result, else its stored epochs). */
function lastEpochReached(run: RunInfo, options: StoreOptions): string | undefined {
  const training = run.result?.training;
  if (training?.final && training.epochs > 0)
    return training.final.epoch >= training.epochs ? `${training.final.epoch}/${training.epochs}` : undefined;
  const last = readRunEvents(run.id, { ...options, only: ['epoch'] }).at(-1) as
    { epoch?: unknown; epochs?: unknown } | undefined;
  if (typeof last?.epoch !== 'number' || typeof last.epochs !== 'number' || last.epochs <= 0) return undefined;
  return last.epoch >= last.epochs ? `${last.epoch}/${last.epochs}` : undefined;
}

/**
 * Throws a UsageError naming the run that already continued run `id`, if one did. The chain of resumes is followed to
 * its end (#24 item 5): a chain whose last run completed, or trained to its last epoch before it failed, is refused
 * naming that run; one that ended otherwise names the run to resume instead.
 */
export function assertNotContinued(id: string, options: StoreOptions = {}): void {
  const chain = continuationChain(id, options);
  const next = chain[0];
  const end = chain.at(-1);
  if (!next || !end) return;
  const by = chain
    .slice(1)
    .map((r) => `, then by the run ${r.id}`)
    .join('');
  const reached = end.status === 'succeeded' ? undefined : lastEpochReached(end, options);
  const what =
    end.status === 'running'
      ? 'which is still running'
      : end.status === 'succeeded'
        ? 'which completed it'
        : reached
          ? `which trained it to its last epoch (${reached}) before it ended ${end.status}: there is nothing left to resume`
          : `which ended ${end.status}: resume that run instead (\`ddprun resume ${end.id}\`)`;
  throw new UsageError(
    `The run ${id} was already resumed by the run ${next.id}${by}, ${what}. Nothing was started.`,
    'id',
  );
}
