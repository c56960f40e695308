import { UsageError } from '../errors.js';
import { RESUME_OVERRIDABLE } from '../ultralytics/resume.js';
import { EXIT_CODES_HELP } from '../exit-codes.js';
import { LAUNCH_FLAGS, addFlags, type OutputFlags } from './flag-specs.js';
import { parseCommand, type Printed } from './subcommand.js';
import { parseKeyValues } from './train-args.js';
import { literalToJs } from '../python/smart-value.js';

export interface ResumeCommand {
  kind: 'resume';
  id: string;
  /** The `key=value` arguments, typed as `ddprun train` types them (only imgsz, batch, device, close_mosaic pass). */
  overrides: Record<string, unknown>;
  output: OutputFlags;
}

const OUTPUT_FLAGS = LAUNCH_FLAGS.filter((s) => /^--(dry-run|json|quiet)\b/.test(s.flags));

/** `ddprun resume [--json|--quiet|--dry-run] <id> [key=value…]`. */
export function parseResume(argv: readonly string[]): ResumeCommand | Printed {
  return parseCommand(
    'resume',
    argv,
    (command) =>
      addFlags(command, OUTPUT_FLAGS)
        .usage('[options] <id> [key=value…]')
        .description(
          "Relaunch a failed, stopped or lost `ddprun train` run of the run store from its run folder's weights/last.pt, with the same trainer, arguments and launch options, as a new run linked to the old one.",
        )
        .argument('[id]', 'the run id, or a unique prefix of it (see `ddprun ps --all`)')
        .argument(
          '[args...]',
          `what Ultralytics lets a resumed run change: ${RESUME_OVERRIDABLE.join(', ')} (key=value)`,
        )
        .addHelpText('after', `\nExample: ddprun resume 20261202-081500-ab12 batch=8 device=0,1\n\n${EXIT_CODES_HELP}`),
    (raw, [id, ...rest]) => {
      if (id === undefined || id === '')
        throw new UsageError(
          'Missing the run id. Usage: `ddprun resume <id> [key=value…]`; `ddprun ps --all` lists runs.',
        );
      const overrides: Record<string, unknown> = {};
      for (const [key, value] of parseKeyValues(rest)) overrides[key] = literalToJs(value);
      return {
        kind: 'resume',
        id,
        overrides,
        output: { dryRun: Boolean(raw.dryRun), json: Boolean(raw.json), quiet: Boolean(raw.quiet) },
      };
    },
  );
}
