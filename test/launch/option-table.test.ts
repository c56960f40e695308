import { describe, expect, it } from 'vitest';
import { parseCli } from '../../src/cli/commands/index.js';
import { LAUNCH_FLAGS } from '../../src/cli/flag-specs.js';
import { UsageError } from '../../src/errors.js';
import { OPTION_NAMES, OPTION_TABLE, flaggedOptions, type FlagValue } from '../../src/launch/option-table.js';
import { resolveOptions } from '../../src/launch/resolve/options.js';
import type { LaunchOptions } from '../../src/model/types.js';

// A flag text per value kind, and the option value it must become.
const SAMPLES: Record<FlagValue, [string, unknown]> = {
  text: ['abc', 'abc'],
  integer: ['3', 3],
  nproc: ['2', 2],
  nnodes: ['1:2', '1:2'],
  'seconds-to-ms': ['1.5', 1500],
  ranks: ['0,1', [0, 1]],
  'std-spec': ['3', 'all'],
  switch: ['', true],
};

describe('the option table', () => {
  it('gives every flagged option a CLI flag that sets exactly that option', () => {
    for (const { option, flag } of flaggedOptions()) {
      const name = flag.spec.split(' ')[0] as string;
      const [text, value] = flag.choices ? [flag.choices[0], flag.choices[0]] : SAMPLES[flag.value ?? 'text'];
      const command = parseCli(flag.value === 'switch' ? [name, 'a.py'] : [name, text as string, 'a.py']);
      if (command.kind !== 'launch') throw new Error('expected a launch');
      expect({ option, value: (command.options as unknown as Record<string, unknown>)[option] }).toEqual({
        option,
        value,
      });
    }
  });

  it('is the list of launch flags: one flag per flagged row, in the table order', () => {
    const fromSpecs = LAUNCH_FLAGS.filter((s) => s.option !== undefined).map((s) => [s.option, s.flags]);
    expect(fromSpecs).toEqual(flaggedOptions().map(({ option, flag }) => [option, flag.spec]));
  });

  it('is the list of options resolveOptions knows: an option outside it is refused, naming the table', async () => {
    const error = (await resolveOptions({ entry: { command: 'true' }, nproc: 2 } as unknown as LaunchOptions).catch(
      (e: unknown) => e,
    )) as UsageError;
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(`Unknown option \`nproc\`. Known options: ${OPTION_NAMES.join(', ')}.`);
    expect(Object.keys(OPTION_TABLE)).toEqual(OPTION_NAMES);
  });
});
