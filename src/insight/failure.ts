import { readFileSync } from 'node:fs';
import { constants, hostname } from 'node:os';
import type { RootCause } from '../model/types.js';

export interface ErrorFileContent {
  message: string;
  traceback: string;
}

/** Reads the JSON that torch's `@record` writes to TORCHELASTIC_ERROR_FILE; undefined when absent or unreadable. */
export function readErrorFile(file: string): ErrorFileContent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const outer = (raw as { message?: unknown } | null)?.message;
  if (typeof outer === 'string') return { message: outer, traceback: '' };
  if (outer && typeof outer === 'object') {
    const inner = (outer as { message?: unknown }).message ?? '';
    const message = typeof inner === 'string' ? inner : JSON.stringify(inner);
    const extra = (outer as { extraInfo?: { py_callstack?: unknown } }).extraInfo;
    const traceback = typeof extra?.py_callstack === 'string' ? extra.py_callstack.trimEnd() : '';
    return { message, traceback };
  }
  return undefined;
}

/** The last line of a Python traceback that names the exception (`ValueError: bad`), else the last non-empty line. */
export function exceptionLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning)\b/.test(lines[i]!)) return lines[i]!;
  }
  return lines.at(-1) ?? '';
}

export interface FailedRank {
  rank: number;
  localRank: number;
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  exitedAt: Date;
  errorFile: string;
  stderrTail: string;
}

/** Explains a failed rank: its traceback from the error file when the worker wrote one, else its stderr tail. */
export function rootCauseOf(failed: FailedRank): RootCause {
  const base = {
    rank: failed.rank,
    localRank: failed.localRank,
    pid: failed.pid,
    host: hostname(),
    time: failed.exitedAt.toISOString(),
    exitCode: failed.exitCode,
    signal: failed.signal,
  };
  return explainFailure(base, readErrorFile(failed.errorFile), failed.stderrTail);
}

/** The root cause from what a failed rank left: the error file's traceback when there is one, else its stderr tail. */
export function explainFailure(
  base: Omit<RootCause, 'traceback' | 'source' | 'message'>,
  fromFile: ErrorFileContent | undefined,
  stderrTail: string,
): RootCause {
  if (fromFile && (fromFile.traceback || fromFile.message)) {
    return {
      ...base,
      traceback: fromFile.traceback || fromFile.message,
      source: 'error-file',
      message: fromFile.message || exceptionLine(fromFile.traceback),
    };
  }
  if (stderrTail.trim())
    return { ...base, traceback: stderrTail, source: 'stderr', message: exceptionLine(stderrTail) };
  return { ...base, traceback: '', source: 'none', message: '' };
}

/** `exit code 3` or `signal SIGKILL (9)`. */
export function describeExit(exitCode: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal ${signal} (${constants.signals[signal] ?? '?'})`;
  return `exit code ${exitCode ?? '?'}`;
}

/** The root-cause report printed once when a launch fails. */
export function formatRootCause(rc: RootCause): string {
  if (rc.source === 'stacks') return formatHangCause(rc);
  const head = `Root cause: rank ${rc.rank} (local rank ${rc.localRank}, pid ${rc.pid ?? '?'}, host ${rc.host}) failed with ${describeExit(rc.exitCode, rc.signal)} at ${rc.time}`;
  const lines = [head];
  if (rc.explanation)
    lines.push(`  ${rc.explanation.kind}: ${rc.explanation.message}`, `  hint: ${rc.explanation.hint}`);
  if (rc.message) lines.push(`  ${rc.message}`);
  if (rc.traceback) {
    lines.push(rc.source === 'error-file' ? '  Traceback (from the error file):' : '  Last lines of its stderr:');
    for (const line of rc.traceback.split('\n')) lines.push(`    ${line}`);
  } else if (!rc.explanation || rc.explanation.kind === 'exit-code') {
    lines.push(
      '  (no error file and no stderr output; decorate the entry point with torch.distributed.elastic.multiprocessing.errors.record to get a traceback)',
    );
  }
  return lines.join('\n');
}

/** A job stopped for a hang: no rank failed; every rank's stacks say where they waited. */
function formatHangCause(rc: RootCause): string {
  const lines = [`Root cause: the job hung (host ${rc.host}); stopped at ${rc.time}`];
  if (rc.explanation) lines.push(`  hang: ${rc.explanation.message}`, `  hint: ${rc.explanation.hint}`);
  lines.push('  Python stacks of every rank:', ...rc.traceback.split('\n').map((line) => `  ${line}`));
  return lines.join('\n');
}

/**
 * Whether rank 0's failure is the port race: creating the process group's store (torch's TCPStore server, in
 * `init_process_group`), it could not bind `port`, the MASTER_PORT ddprun chose, because another program took it.
 * Only the exception that ended the rank counts (not a warning it logged before), and only for our port. Torch < 2.2
 * says `…failed to bind to [::]:PORT (errno: 98 - Address already in use)`; newer torch `…port: PORT, …, code: -98,
 * name: EADDRINUSE`.
 */
export function isMasterPortTaken(rc: RootCause, port: number): boolean {
  const m = rc.message;
  if (!/server socket has failed to listen on any local network address/i.test(m)) return false;
  return new RegExp(`:${port} \\(errno: ?98\\b|\\bport: ${port},.*(EADDRINUSE|code: -98\\b)`, 'i').test(m);
}
