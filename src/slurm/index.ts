// `ddprun/slurm`: reading an allocation, writing and submitting a batch script, following the job.
export { expandSlurmNodelist } from './nodelist.js';
export { slurmLaunchDefaults, slurmMasterPort } from './defaults.js';
export type { SlurmDefaults, SlurmValue } from './defaults.js';
export { detectSlurmMultiTask, detectSlurmMissingStep } from './layout.js';
export { renderSbatchScript } from './sbatch.js';
export type { SbatchOptions } from './sbatch.js';
export { submitSbatch, waitForJob } from './job.js';
export type { SubmitOptions, WaitOptions, JobEnd } from './job.js';
export { SlurmEnvError, SlurmCommandError, SlurmWaitTimeoutError, SlurmNodelistError } from './errors.js';
