import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './procs.js';

const PTY_JOB = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pty_job.py');

/** What the fake shell reports about its job (see pty_job.py). */
export interface JobReport {
  job?: number;
  out?: string;
  stopped?: number;
  continued?: boolean;
  exited?: number;
  signaled?: number;
  done?: boolean;
}

/** A command run as the foreground job of an interactive shell on a real pseudo-terminal. */
export interface PtyJob {
  /** Everything the job wrote to the terminal so far. */
  output(): string;
  reports: JobReport[];
  /** Types bytes at the terminal (`\x1a` is Ctrl-Z, `\x03` Ctrl-C). */
  type(text: string): void;
  /** `fg`: SIGCONT to the job's process group. */
  cont(): void;
  /** Closes the terminal (the shell gets SIGHUP and passes it to the job, as bash does). */
  hangUp(): void;
  /** Resolves with how the job ended. */
  ended: Promise<JobReport>;
  /** Polls until `predicate` holds (60 s at most). */
  waitFor(predicate: () => boolean, what: string): Promise<void>;
  kill(): void;
}

export function ptyJob(argv: readonly string[], env: NodeJS.ProcessEnv): PtyJob {
  const helper = spawn('python3', [PTY_JOB, ...argv], { env, stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  const reports: JobReport[] = [];
  let output = '';
  let pending = '';
  let finish: (report: JobReport) => void = () => {};
  const ended = new Promise<JobReport>((resolve) => (finish = resolve));
  helper.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() as string;
    for (const line of lines) {
      const report = JSON.parse(line) as JobReport;
      reports.push(report);
      if (report.out) output += report.out;
      if (report.exited !== undefined || report.signaled !== undefined) finish(report);
    }
  });
  const command = (text: string) => helper.stdin.write(`${text}\n`);
  return {
    output: () => output,
    reports,
    type: (text) => command(`send ${Buffer.from(text).toString('hex')}`),
    cont: () => command('cont'),
    hangUp: () => command('hangup'),
    ended,
    waitFor: async (predicate, what) => {
      await until(() => `${what}; terminal so far:\n${output}`, predicate);
    },
    kill() {
      const job = reports.find((r) => r.job !== undefined)?.job;
      if (job !== undefined) {
        try {
          process.kill(-job, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      if (helper.exitCode === null) helper.kill('SIGKILL');
    },
  };
}

/** The state letter of a process (`T`: stopped), or undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}
