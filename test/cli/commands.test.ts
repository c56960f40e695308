import { describe, expect, it } from 'vitest';
import { SUBCOMMANDS } from '../../src/cli/argv.js';
import { COMMANDS, parseCli } from '../../src/cli/commands/index.js';

describe('the registry of commands (src/cli/commands/)', () => {
  it('has one command per subcommand word, named by it, and the launch', () => {
    expect(Object.keys(COMMANDS).sort()).toEqual([...SUBCOMMANDS, 'launch'].sort());
    for (const [key, command] of Object.entries(COMMANDS)) expect(command.name).toBe(key);
  });

  it('parses a subcommand word only as the first argument, anything else as a launch', () => {
    expect(parseCli(['ps', '--all'])).toEqual({ kind: 'ps', all: true, json: false });
    expect(parseCli(['stop', 'abc'])).toMatchObject({ kind: 'stop', id: 'abc' });
    expect(parseCli(['./ps', '--all'])).toMatchObject({ kind: 'launch', options: { entry: { script: './ps' } } });
    expect(parseCli(['train.py', 'ps'])).toMatchObject({
      kind: 'launch',
      options: { entry: { script: 'train.py', args: ['ps'] } },
    });
  });
});
