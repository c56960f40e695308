import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli/commands/index.js';
import { SUBCOMMANDS } from '../src/cli/argv.js';
import { EXIT_CODES_HELP } from '../src/exit-codes.js';
import { DdprunError } from '../src/errors.js';
import { OPTION_NAMES } from '../src/launch/option-table.js';
import * as root from '../src/index.js';
import * as slurm from '../src/slurm/index.js';
import * as ultralytics from '../src/ultralytics/index.js';
import { ROOT } from './cli/helpers.js';

// The README and the pages under docs/ are what a new user follows to the letter: these checks keep their tables and
// lists in step with the code, wherever a section now lives.

const DOC_FILES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const DOCS = new Map(DOC_FILES.map((file) => [file, readFileSync(path.join(ROOT, file), 'utf8')]));
/** Every page together: a flag, an event or a code is documented when some page names it. */
const ALL = [...DOCS.values()].join('\n');

/** The lines of `text` outside fenced code blocks, with their indexes (a `# comment` in a block is no heading). */
function headingLines(text: string): { line: string; index: number }[] {
  let fenced = false;
  return text.split('\n').flatMap((line, index) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && /^#{1,6} /.test(line) ? [{ line, index }] : [];
  });
}

/** The text of the `#`/`##`/`###` section titled `title` (up to the next heading of the same or a higher level), in
 * whichever page holds it: exactly one page may. */
function section(title: string): string {
  const found = [...DOCS].flatMap(([file, text]) => {
    const headings = headingLines(text);
    const at = headings.findIndex(({ line }) => line.replace(/^#+ /, '') === title);
    return at === -1 ? [] : [{ file, text, headings, at }];
  });
  expect(
    found.map(({ file }) => file),
    `the pages with a section "${title}"`,
  ).toHaveLength(1);
  const { text, headings, at } = found[0]!;
  const level = /^#+/.exec(headings[at]!.line)![0].length;
  const next = headings.slice(at + 1).find(({ line }) => /^#+/.exec(line)![0].length <= level);
  return text
    .split('\n')
    .slice(headings[at]!.index + 1, next?.index)
    .join('\n');
}

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`. */
function slug(heading: string): string {
  return heading
    .replace(/^#+ /, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The rows of the first Markdown table in `text`, as trimmed cells (header and separator left out). */
function tableRows(text: string): string[][] {
  const lines = text.split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

function helpText(argv: readonly string[]): string {
  const command = parseCli(argv);
  if (command.kind !== 'print') throw new Error(`${argv.join(' ')} printed no help`);
  return command.text;
}

/** `ddprun --help` and every `ddprun help <command>`. */
const HELP = [helpText(['--help']), ...SUBCOMMANDS.map((sub) => helpText([sub, '--help']))].join('\n');

/** The long flags a help text defines in its Options list (`  -d, --detach`, `  --log-dir <dir>`). */
function definedFlags(help: string): Set<string> {
  return new Set([...help.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(file) : file.endsWith('.ts') ? [file] : [];
  });
}

describe('README and docs/', () => {
  it('documents every flag that `ddprun --help` and `ddprun help <command>` list', () => {
    const flags = definedFlags(HELP);
    expect(flags.size).toBeGreaterThan(60);
    const missing = [...flags].filter((flag) => !new RegExp(`(^|[^\\w-])${flag}(?![\\w-])`).test(ALL));
    expect(missing).toEqual([]);
  });

  it('names only flags that exist in "The command line"', () => {
    const known = new Set([...HELP.matchAll(/--[a-z][a-z0-9-]*/g)].map((m) => m[0]));
    const named = [...section('The command line').matchAll(/(?<![\w-])--[a-z][a-z0-9_-]*/g)].map((m) =>
      m[0].replaceAll('_', '-'),
    );
    expect(named.length).toBeGreaterThan(20);
    const scriptArgs = new Set(['--lr', '--epochs']); // the example train.py's own arguments, after the script
    expect(named.filter((flag) => !known.has(flag) && !scriptArgs.has(flag))).toEqual([]);
  });

  it('lists every subcommand as one that counts only as the first argument', () => {
    const bullet = /^- Subcommands \(([^)]*)\)/m.exec(section('The command line'));
    expect(ticked(bullet![1]!).sort()).toEqual([...SUBCOMMANDS, 'help'].sort());
  });

  it('has the exit codes of src/exit-codes.ts, and only those', () => {
    const documented = tableRows(section('Exit codes')).map(([code]) => code);
    const decided = [...EXIT_CODES_HELP.matchAll(/^ {2}(\S+) /gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(decided.sort());
  });

  it('has a row for every launch() option, and no row for an option that does not exist', () => {
    const rows = tableRows(section('`launch(options): LaunchHandle`'));
    const documented = rows.flatMap(([option]) => ticked(option!));
    expect([...documented].sort()).toEqual([...OPTION_NAMES].sort());
  });

  it('names every event of the launch handle (LaunchEvents in src/model/types.ts) in "The library"', () => {
    const types = readFileSync(path.join(ROOT, 'src', 'model', 'types.ts'), 'utf8');
    const body = /^export interface LaunchEvents \{\n([\s\S]*?)^\}/m.exec(types)![1]!;
    const events = [...body.matchAll(/^ {2}(\w+): \[/gm)].map((m) => m[1]!);
    expect(events.length).toBeGreaterThan(10);
    const library = section('`launch(options): LaunchHandle`');
    expect(events.filter((event) => !library.includes(`\`${event}\``))).toEqual([]);
  });

  it('has every ERR_DDPRUN_ code of src/ in its error table, and no code that src/ does not have', () => {
    const inSource = new Set(
      sourceFiles(path.join(ROOT, 'src')).flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/'(ERR_DDPRUN(?:_[A-Z_]+)?)'/g)].map((m) => m[1]!),
      ),
    );
    const rows = tableRows(section('Errors'));
    const inReadme = new Set(rows.map(([code]) => ticked(code!)[0]!));
    expect([...inReadme].sort()).toEqual([...inSource].sort());
  });

  it('is right that the base code ERR_DDPRUN is never thrown: no `new DdprunError(`, no subclass without its own code', () => {
    for (const file of sourceFiles(path.join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/new DdprunError\(/);
      for (const m of text.matchAll(/^export class (\w+) extends DdprunError \{\n([\s\S]*?)^\}/gm))
        expect(m[2], `${m[1]} in ${file}`).toMatch(/override readonly code/);
    }
  });

  it('has an error-table row, with its code, for every error class a program can import', () => {
    const rows = tableRows(section('Errors')).map(([code, name]) => `${ticked(code!)[0]} ${ticked(name!)[0]}`);
    const exported = Object.entries({ ...root, ...ultralytics, ...slurm }).filter(
      ([, value]) => value === DdprunError || (typeof value === 'function' && value.prototype instanceof DdprunError),
    );
    expect(exported.length).toBeGreaterThan(10);
    for (const [name, cls] of exported) {
      const instance = Reflect.construct(cls as new (...args: unknown[]) => DdprunError, [
        'message',
        { command: [], path: '/x', action: 'a', id: 'x', status: 'failed' },
        'c',
      ]);
      expect(rows).toContain(`${instance.code} ${name}`);
    }
  });

  it('names every runtime export of each entry point in the "Entry points" table (error classes: in "Errors")', () => {
    const rows = new Map(tableRows(section('Entry points')).map(([entry, what]) => [ticked(entry!)[0], what!]));
    const entries: [string, Record<string, unknown>][] = [
      ['ddprun', root],
      ['ddprun/ultralytics', ultralytics],
      ['ddprun/slurm', slurm],
    ];
    const errors = section('Errors');
    for (const [entry, module] of entries) {
      const what = rows.get(entry) ?? '';
      const missing = Object.entries(module)
        .filter(([, value]) => !(typeof value === 'function' && value.prototype instanceof Error))
        .map(([name]) => name)
        .filter((name) => !what.includes(`\`${name}\``));
      expect({ entry, missing }).toEqual({ entry, missing: [] });
      for (const [name, value] of Object.entries(module))
        if (typeof value === 'function' && value.prototype instanceof Error) expect(errors).toContain(`\`${name}\``);
    }
  });

  it('names only files and folders that exist (Architecture, its source tree, and every backticked path)', () => {
    const paths = new Set<string>();
    // The Architecture table: a folder, then file names relative to it (`src/launch/run/` (`launch.ts`, …)).
    for (const row of tableRows(section('Architecture'))) {
      let base = '';
      for (const token of ticked(row[2]!)) {
        if (token.includes('/')) {
          paths.add(token);
          base = token.endsWith('/') ? token : path.posix.dirname(token);
        } else if (/^[\w-]+\.ts$/.test(token)) paths.add(path.posix.join(base, token));
      }
    }
    // The tree: each line's folder or file, and the `name.ts` files it lists under that folder.
    const tree = /```\n(src\/index\.ts[\s\S]*?)```/.exec(section('The source tree'))![1]!;
    let folder = '';
    let open: string[] = []; // the sub-folders of the parentheses open here: `run/ (supervisor.ts, …)`
    for (const line of tree.split('\n')) {
      const head = /^(\S+)/.exec(line)?.[1];
      if (head) {
        paths.add(head);
        folder = head.endsWith('/') ? head : '';
        open = [];
      }
      for (const m of (head ? line.slice(head.length) : line).matchAll(
        /([a-z][\w-]*\/) \(|\(|\)|\b([a-z][\w-]*\.ts)\b/g,
      )) {
        if (m[0] === ')') open.pop();
        else if (m[0].endsWith('(')) open.push(m[1] ?? '');
        else if (folder) paths.add(path.posix.join(folder, ...open, m[2]!));
      }
    }
    for (const m of ALL.matchAll(/`((?:src|test|bench|examples|scripts|docs|ui)\/[\w./-]*)`/g)) paths.add(m[1]!);
    expect(paths.size).toBeGreaterThan(40);
    expect([...paths].filter((p) => !existsSync(path.join(ROOT, p)))).toEqual([]);
  });

  it('justifies every runtime dependency of package.json in the Design section, and no other', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const justified = [...section('Design').matchAll(/^- \*\*([\w@/.-]+)\*\*.* — \S/gm)].map((m) => m[1]);
    expect(justified.sort()).toEqual(Object.keys(pkg.dependencies).sort());
  });

  it('keeps the README a front page under 300 lines that links every page under docs/', () => {
    const readme = DOCS.get('README.md')!;
    expect(readme.split('\n').length).toBeLessThan(300);
    const pages = DOC_FILES.filter((file) => file.startsWith('docs/'));
    expect(pages.length).toBeGreaterThanOrEqual(10);
    expect(pages.filter((page) => !readme.includes(`](${page})`))).toEqual([]);
  });

  it('has no relative link to a file or a heading that does not exist', () => {
    const broken: string[] = [];
    for (const [file, text] of DOCS)
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!;
        if (/^[a-z]+:/.test(link)) continue;
        const [target, anchor] = link.split('#') as [string, string | undefined];
        const resolved = target ? path.posix.join(path.posix.dirname(file), target) : file;
        if (!existsSync(path.join(ROOT, resolved))) broken.push(`${file}: ${link}`);
        else if (anchor !== undefined) {
          const page = DOCS.get(resolved) ?? '';
          if (!headingLines(page).some(({ line }) => slug(line) === anchor)) broken.push(`${file}: ${link}`);
        }
      }
    expect(broken).toEqual([]);
  });
});
