import { parseResume } from '../args-resume.js';
import type { Command } from './command.js';

/** `ddprun resume <id> [key=value…]`: a failed or stopped trainer run goes on from its last.pt, as a new run. */
export const resume: Command<'resume'> = {
  name: 'resume',
  parse: parseResume,
  async run(command, io) {
    // Every refusal (not a trainer run, completed, no last.pt, a key Ultralytics does not let change) comes first.
    const { claimResume, planResume } = await import('../../launch/resume-run.js');
    const plan = planResume(command.id, command.overrides);
    // One resume of a run at a time: held until the resumed run has ended.
    const release = claimResume(plan);
    try {
      const { runLaunch } = await import('../run-launch.js');
      return await runLaunch(plan.options, command.output, io, undefined, { argv: plan.argv, resumedFrom: plan.from });
    } finally {
      release();
    }
  },
};
