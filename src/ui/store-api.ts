// Temporary: the run store's read API (src/store/) replaces this once it lands.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DDPRUN_STATE_DIR) return env.DDPRUN_STATE_DIR;
  if (env.XDG_STATE_HOME) return path.join(env.XDG_STATE_HOME, 'ddprun');
  return path.join(os.homedir(), '.local', 'state', 'ddprun');
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function runLiveness(run: { status: string; launcher?: { pid: number; startTime: unknown } }): string {
  if (run.status !== 'running' || !run.launcher) return run.status;
  return String(startTime(run.launcher.pid)) === String(run.launcher.startTime) ? 'running' : 'lost';
}

export async function stopRun(id: string, { stateDir }: { stateDir: string }): Promise<void> {
  const run = JSON.parse(readFileSync(path.join(stateDir, 'runs', id, 'run.json'), 'utf8')) as {
    status: string;
    launcher: { pid: number; startTime: unknown };
  };
  if (runLiveness(run) !== 'running') throw new Error(`run ${id} is not running`);
  process.kill(run.launcher.pid, 'SIGTERM');
}
