import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { shellJoin, shellQuote } from '../../src/slurm/shell-quote.js';

const nasty = [
  '',
  ' ',
  'two words',
  "it's",
  '"',
  '$HOME',
  '${HOME}',
  '`id`',
  '$(id)',
  '*',
  '?',
  '~',
  'a\nb',
  '\\',
  '!x',
  ';',
  '&&',
  '|',
  '>',
  '#',
  "'",
  "''",
  '-n',
  '\t',
];

describe('shellQuote', () => {
  it.each([
    ['train.py', 'train.py'],
    ['--lr=0.1', '--lr=0.1'],
    ['/usr/bin/node', '/usr/bin/node'],
    ['', "''"],
    ['two words', "'two words'"],
    ["it's", "'it'\\''s'"],
    ['$HOME', "'$HOME'"],
  ])('quotes %j as %s', (arg, quoted) => {
    expect(shellQuote(arg)).toBe(quoted);
  });

  it('brings every argument through sh and bash unchanged', () => {
    for (const shell of ['sh', 'bash']) {
      const out = execFileSync(shell, ['-c', `printf '%s\\0' ${shellJoin(nasty)}`], {
        encoding: 'utf8',
        env: { HOME: '/nowhere', PATH: process.env.PATH },
      });
      expect(out.split('\0').slice(0, -1)).toEqual(nasty);
    }
  });

  it('refuses a NUL byte, which no argument can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow(
      new UsageError('Cannot pass an argument containing a NUL byte to a shell: "a\\u0000b".'),
    );
  });
});
