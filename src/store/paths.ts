import os from 'node:os';
import path from 'node:path';

/** Folders are 0700 and files 0600: a run's logs can hold secrets. */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** `$DDPRUN_STATE_DIR`, else `$XDG_STATE_HOME/ddprun`, else `~/.local/state/ddprun`. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DDPRUN_STATE_DIR) return path.resolve(env.DDPRUN_STATE_DIR);
  if (env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)) return path.join(env.XDG_STATE_HOME, 'ddprun');
  return path.join(env.HOME || os.homedir(), '.local', 'state', 'ddprun');
}

export function runsDir(state: string): string {
  return path.join(state, 'runs');
}

export function runDir(state: string, id: string): string {
  return path.join(runsDir(state), id);
}

export const RUN_FILE = 'run.json';
export const EVENTS_FILE = 'events.jsonl';
export const LOGS_DIR = 'logs';
/** Left by `ddprun stop` (and the dashboard's Stop) before it signals: the launcher's SIGTERM is then no preemption. */
export const STOP_REQUEST_FILE = 'stop-request';

/** `logs/attempt_<k>/<rank>/<stream>.log`; a torchrun agent's own output goes under `agent`. */
export function rankLogFile(dir: string, attempt: number, rank: number, stream: 'stdout' | 'stderr'): string {
  return path.join(dir, LOGS_DIR, `attempt_${attempt}`, rank < 0 ? 'agent' : String(rank), `${stream}.log`);
}
