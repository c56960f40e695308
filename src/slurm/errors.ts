import { DdprunError, UsageError } from '../errors.js';

/** A Slurm variable ddprun reads holds a value it cannot use. */
export class SlurmEnvError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_SLURM_ENV';
  constructor(
    message: string,
    readonly variable: string,
    readonly value: string,
  ) {
    super(message);
  }
}

/** A Slurm command (`sbatch`, `scontrol`, `sacct`) failed, could not start, or ran past its time limit. */
export class SlurmCommandError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_SLURM_COMMAND';
  readonly command: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  constructor(
    message: string,
    fields: { command: readonly string[]; exitCode?: number; stderr?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.command = fields.command;
    this.exitCode = fields.exitCode;
    this.stderr = fields.stderr ?? '';
  }
}

/** `waitForJob` gave up before the job ended; the job itself is left alone. */
export class SlurmWaitTimeoutError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_SLURM_WAIT_TIMEOUT';
  constructor(
    message: string,
    readonly jobId: string,
    readonly lastState: string | undefined,
  ) {
    super(message);
  }
}

/** A Slurm node list (`SLURM_JOB_NODELIST`, `expandSlurmNodelist`'s argument) that scontrol would reject. */
export class SlurmNodelistError extends UsageError {
  override readonly code = 'ERR_DDPRUN_SLURM_NODELIST';
  constructor(
    message: string,
    readonly list: string,
  ) {
    super(message);
  }
}
