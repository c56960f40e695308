import { DdprunError } from '../errors.js';

/** A Slurm variable ddprun reads holds a value it cannot use. */
export class SlurmEnvError extends DdprunError {
  readonly variable: string;
  readonly value: string;
  constructor(message: string, variable: string, value: string) {
    super(message);
    this.name = 'SlurmEnvError';
    this.variable = variable;
    this.value = value;
  }
}

/** A Slurm command (`sbatch`, `scontrol`, `sacct`) failed, could not start, or ran past its time limit. */
export class SlurmCommandError extends DdprunError {
  readonly command: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  constructor(
    message: string,
    fields: { command: readonly string[]; exitCode?: number; stderr?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SlurmCommandError';
    this.command = fields.command;
    this.exitCode = fields.exitCode;
    this.stderr = fields.stderr ?? '';
  }
}

/** `waitForJob` gave up before the job ended; the job itself is left alone. */
export class SlurmWaitTimeoutError extends DdprunError {
  readonly jobId: string;
  readonly lastState: string | undefined;
  constructor(message: string, jobId: string, lastState: string | undefined) {
    super(message);
    this.name = 'SlurmWaitTimeoutError';
    this.jobId = jobId;
    this.lastState = lastState;
  }
}
