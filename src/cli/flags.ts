import { UsageError, describeValue } from '../errors.js';
import type { StdSelection, StdSpec } from '../model/types.js';

// Converters from a flag's text to the typed value `launch()` takes. They reject only what cannot be
// typed (`abc` for a count); ranges (`0`, `-1`, a port above 65535) are checked once, by resolveOptions.

function bad(flag: string, value: string, expected: string): UsageError {
  return new UsageError(`${flag} expects ${expected}, got ${describeValue(value)}.`, flag);
}

/** `-3`, `0`, `42`; never `1e9`, `0x10`, `4.0` or an empty string. */
export function parseInteger(flag: string, value: string): number {
  if (!/^[+-]?\d+$/.test(value.trim())) throw bad(flag, value, 'an integer, e.g. `2`');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw bad(flag, value, 'an integer below 2^53');
  return n;
}

/** torchrun's `--nproc-per-node`: a count, or `auto` / `gpu` / `cpu`. */
export function parseNprocPerNode(flag: string, value: string): number | 'auto' | 'gpu' | 'cpu' {
  const word = value.trim().toLowerCase();
  if (word === 'auto' || word === 'gpu' || word === 'cpu') return word;
  if (!/^[+-]?\d+$/.test(word)) throw bad(flag, value, 'a number of ranks (e.g. `2`) or `auto`, `gpu`, `cpu`');
  return parseInteger(flag, word);
}

/** torchrun's `--nnodes`: `N`, or `MIN:MAX` (elastic, torchrun backend). */
export function parseNnodes(flag: string, value: string): number | string {
  const text = value.trim();
  if (/^[+-]?\d+$/.test(text)) return parseInteger(flag, text);
  if (/^\d+:\d+$/.test(text)) return text;
  throw bad(flag, value, 'a number of nodes (e.g. `2`) or `MIN:MAX` (e.g. `1:4`)');
}

/** Seconds as given by a person (`30`, `0.5`) to milliseconds. */
export function parseSecondsToMs(flag: string, value: string): number {
  const text = value.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) throw bad(flag, value, 'a number of seconds, e.g. `30` or `0.5`');
  const ms = Math.round(Number(text) * 1000);
  // The launcher's own limits, said in the flag's unit: at most 1 day of grace, 7 days of rendezvous or waiting.
  const maxSeconds = flag === '--grace-period' ? 86_400 : 7 * 86_400;
  const minMs = flag === '--grace-period' ? 0 : 1;
  if (ms < minMs || ms > maxSeconds * 1000)
    throw bad(flag, value, `a number of seconds from ${minMs ? 0.001 : 0} to ${maxSeconds}`);
  return ms;
}

/** `0,1,3` to `[0, 1, 3]`. */
export function parseRankList(flag: string, value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part)))
    throw bad(flag, value, 'comma-separated local ranks, e.g. `0` or `0,1`');
  return [...new Set(parts.map(Number))];
}

const STD: Record<string, StdSelection> = { '0': 'none', '1': 'stdout', '2': 'stderr', '3': 'all' };

/**
 * torchrun's `--redirects` / `--tee` syntax: `3` for every rank, or `0:1,1:2` per local rank (0 none, 1 stdout, 2
 * stderr, 3 both).
 */
export function parseStdSpec(flag: string, value: string): StdSpec {
  const text = value.trim();
  const expected = '`0`–`3` (0 none, 1 stdout, 2 stderr, 3 both) or per local rank like `0:1,1:2`';
  const single = STD[text];
  if (single) return single;
  const map: Record<number, StdSelection> = {};
  for (const pair of text.split(',')) {
    const match = /^\s*(\d+)\s*:\s*([0-3])\s*$/.exec(pair);
    if (!match) throw bad(flag, value, expected);
    map[Number(match[1])] = STD[match[2] as string] as StdSelection;
  }
  return map;
}
