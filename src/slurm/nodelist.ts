import { UsageError } from '../errors.js';
import { SlurmNodelistError } from './errors.js';

/** Slurm's own limit on the hosts of one `lo-hi` range (hostlist.c `MAX_RANGE`). */
const MAX_HOSTS_PER_RANGE = 65_536;

interface BracketGroup {
  /** The literal text before this group (after the previous group). */
  text: string;
  /** The expanded numbers of this group, already zero-padded. */
  values: string[];
}

/**
 * Expands a Slurm host list (`node[01-03,07]`, `a[1-2],b3`, `r[1-2]n[01-02]`) into host names,
 * with the same names in the same order as `scontrol show hostnames`, so that every node of a job
 * agrees on the first host (the master address) without running Slurm's tools.
 * Throws a `SlurmNodelistError` (`ERR_DDPRUN_SLURM_NODELIST`) naming the list and the fault where scontrol would reject
 * the list or silently produce a mangled name (unbalanced or nested brackets).
 */
export function expandSlurmNodelist(list: string): string[] {
  if (typeof list !== 'string') {
    throw new UsageError(`Expected the Slurm node list to be a string, got ${typeof list}.`);
  }
  const hosts: string[] = [];
  for (const token of splitTopLevel(list)) {
    for (const host of expandToken(token, list)) hosts.push(host);
  }
  return hosts;
}

/** Splits at commas and whitespace outside brackets; empty items are dropped, as Slurm does. */
function splitTopLevel(list: string): string[] {
  const tokens: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of list) {
    if (char === '[') {
      if (depth > 0) throw malformed(list, 'a bracket group is opened inside another one');
      depth = 1;
    } else if (char === ']') {
      if (depth === 0) throw malformed(list, 'a `]` has no matching `[`');
      depth = 0;
    } else if (depth === 0 && (char === ',' || /\s/.test(char))) {
      if (current !== '') tokens.push(current);
      current = '';
      continue;
    } else if (depth > 0 && /\s/.test(char)) {
      throw malformed(list, 'a bracket group contains whitespace');
    }
    current += char;
  }
  if (depth > 0) throw malformed(list, 'a `[` is never closed');
  if (current !== '') tokens.push(current);
  return tokens;
}

function expandToken(token: string, list: string): string[] {
  const groups: BracketGroup[] = [];
  let rest = token;
  for (let open = rest.indexOf('['); open !== -1; open = rest.indexOf('[')) {
    const close = rest.indexOf(']', open);
    groups.push({ text: rest.slice(0, open), values: expandRanges(rest.slice(open + 1, close), list) });
    rest = rest.slice(close + 1);
  }
  if (groups.length === 0) return [token];
  if (rest !== '') {
    // Slurm's hostlist parser accepts nothing between the last `]` and the next separator.
    throw malformed(
      list,
      `\`${token}\` has text (\`${rest}\`) after its last bracket group, which Slurm does not accept`,
    );
  }
  return cartesian(groups);
}

/**
 * Slurm's order for several bracket groups (hostlist.c `_push_range_list`): the last group varies
 * fastest, then the first, the second, … and the last-but-one varies slowest.
 * `a[1-2]b[1-2]c[1-2]` → a1b1c1 a1b1c2 a2b1c1 a2b1c2 a1b2c1 …
 */
function cartesian(groups: BracketGroup[]): string[] {
  const last = groups.length - 1;
  // Loop order, outermost first: groups last-1, last-2, …, 0, then last.
  const loopOrder = [...groups.keys()].slice(0, last).reverse().concat(last);
  const chosen: string[] = new Array<string>(groups.length).fill('');
  const hosts: string[] = [];
  const visit = (depth: number): void => {
    if (depth === loopOrder.length) {
      hosts.push(groups.map((group, i) => group.text + chosen[i]).join(''));
      return;
    }
    const index = loopOrder[depth] as number;
    for (const value of (groups[index] as BracketGroup).values) {
      chosen[index] = value;
      visit(depth + 1);
    }
  };
  visit(0);
  return hosts;
}

/** `01-03,07` → 01 02 03 07; the width of each range is the length of its lower bound. */
function expandRanges(body: string, list: string): string[] {
  const values: string[] = [];
  for (const item of body.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!match) throw malformed(list, `\`[${body}]\` contains \`${item}\`, which is not a number or a \`lo-hi\` range`);
    const loText = match[1] as string;
    const lo = BigInt(loText);
    const hi = match[2] === undefined ? lo : BigInt(match[2]);
    if (hi < lo) throw malformed(list, `the range \`${item}\` is descending`);
    if (hi - lo + 1n > BigInt(MAX_HOSTS_PER_RANGE)) {
      throw malformed(list, `the range \`${item}\` has more than ${MAX_HOSTS_PER_RANGE} hosts, Slurm's limit`);
    }
    for (let n = lo; n <= hi; n++) values.push(n.toString().padStart(loText.length, '0'));
  }
  return values;
}

function malformed(list: string, detail: string): SlurmNodelistError {
  return new SlurmNodelistError(`Invalid Slurm node list ${JSON.stringify(list)}: ${detail}.`, list);
}
