import { UsageError, describeValue } from '../errors.js';

/**
 * A number that must reach Python as a `float` even when it is integral (`1.0`, `0.0`):
 * JavaScript has one number type, so `toPythonLiteral(1)` is the int `1` and
 * `toPythonLiteral(pyFloat(1))` is the float `1.0`.
 */
export class PyFloat {
  readonly value: number;
  constructor(value: number) {
    if (typeof value !== 'number') throw new UsageError(`Expected a number for pyFloat(), got ${describeValue(value)}`);
    this.value = value;
  }
}

/** Marks a number as a Python `float` (see `PyFloat`). */
export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

/**
 * A Python `tuple`: JavaScript has none, and a dict key that is a tuple (`{(1, 2): 5}`) must stay one (a list is
 * not hashable). `toPythonLiteral(pyTuple([1, 2]))` is `(1, 2)`.
 */
export class PyTuple {
  readonly items: readonly unknown[];
  constructor(items: readonly unknown[]) {
    if (!Array.isArray(items)) throw new TypeError(`Expected an array for pyTuple(), got ${describeValue(items)}`);
    this.items = items;
  }
}

/** Marks an array as a Python `tuple` (see `PyTuple`). */
export function pyTuple(items: readonly unknown[]): PyTuple {
  return new PyTuple(items);
}

/**
 * A Python `dict` whose keys keep their Python types and order: `{0: 'person'}` has the int key 0, where a
 * JavaScript object would make it the string '0' (and put integer-like keys first). Keys may be anything
 * hashable in Python: null, booleans, numbers, bigints, strings, `pyFloat()` and `pyTuple()` of those.
 */
export class PyDict {
  readonly entries: readonly (readonly [unknown, unknown])[];
  constructor(entries: Iterable<readonly [unknown, unknown]>) {
    this.entries = [...entries];
  }
}

/** A key-preserving Python dict from `[key, value]` pairs or a Map (see `PyDict`). */
export function pyDict(entries: Iterable<readonly [unknown, unknown]>): PyDict {
  return new PyDict(entries);
}

/**
 * Deeper nesting is refused: CPython's tokenizer stops at 200 nested brackets ("too many nested parentheses"),
 * counting the outermost one.
 */
export const MAX_LITERAL_DEPTH = 200;

export interface ToPythonLiteralOptions {
  /** The name of the value in error messages, e.g. `args`. @default 'value' */
  name?: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return IDENTIFIER.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

// What Python's str.isprintable() rejects (minus Cn, which depends on the Unicode version): repr escapes these.
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]|(?! )\p{Zs}/u;

function escapeCodePoint(cp: number): string {
  switch (cp) {
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
  }
  const hex = cp.toString(16);
  if (cp < 0x100) return `\\x${hex.padStart(2, '0')}`;
  if (cp < 0x10000) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}

/** A Python str literal the way `repr()` writes it: single quotes unless the text has `'` and no `"`. */
export function pythonString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  // for…of walks code points; a lone surrogate comes out alone and is escaped (it cannot be written as UTF-8).
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (NON_PRINTABLE.test(ch)) out += escapeCodePoint(cp);
    else out += ch;
  }
  return out + quote;
}

/** A Python float as `repr()` writes it (shortest round-trip digits; exponent below 1e-4 and from 1e16). */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return "float('nan')";
  if (value === Infinity) return "float('inf')";
  if (value === -Infinity) return "-float('inf')";
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  // toExponential() with no argument gives the shortest digits that round-trip, as Python's repr does.
  const [mantissa = '', expText = '0'] = value.toExponential().split('e');
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const frac = digits.slice(1);
    const expOut = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return `${sign}${digits[0]}${frac ? `.${frac}` : ''}e${expOut}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const fracPart = digits.slice(exp + 1) || '0';
  return `${sign}${intPart}.${fracPart}`;
}

function pythonNumber(value: number): string {
  // Safe integers are ints (as JSON-decoded values are); any other number is a float. Larger ints: bigint.
  return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : pythonFloat(value);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function refuse(path: string, value: unknown, why: string): never {
  // Containers are named by kind only: describing a whole `args` object would drown the message.
  const got =
    typeof value === 'object' && value !== null
      ? Array.isArray(value)
        ? 'an array'
        : 'an object'
      : describeValue(value);
  throw new UsageError(`Cannot write \`${path}\` as a Python literal: got ${got}; ${why}.`, path.split(/[.[]/)[0]);
}

// pyTuple() and pyDict() are accepted too; the message names what a plain caller would pass.
const ACCEPTED = 'expected null, a boolean, a number, a bigint, a string, pyFloat(), an array or a plain object';

/** A dict key Python can hash: a scalar, or a tuple of hashable keys. */
function checkKey(key: unknown, path: string): void {
  if (key instanceof PyTuple) {
    key.items.forEach((item, i) => checkKey(item, `${path}[${i}]`));
    return;
  }
  const scalar =
    key === null || key instanceof PyFloat || ['string', 'number', 'boolean', 'bigint'].includes(typeof key);
  if (!scalar)
    refuse(path, key, 'a dict key must be hashable: null, a boolean, a number, a string, pyFloat() or pyTuple()');
}

function encodeContainer(value: object, path: string, stack: Set<object>): string {
  if (value instanceof PyTuple) {
    const items = value.items.map((item, i) => encode(item, childPath(path, i), stack));
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  if (value instanceof PyDict) {
    const entries = value.entries.map(([key, item], i) => {
      checkKey(key, `${path}.keys[${i}]`);
      const keyText = encode(key, `${path}.keys[${i}]`, stack);
      return `${keyText}: ${encode(item, `${path}[${keyText}]`, stack)}`;
    });
    return `{${entries.join(', ')}}`;
  }
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) refuse(childPath(path, i), undefined, 'arrays must not have holes');
      items.push(encode(value[i], childPath(path, i), stack));
    }
    return `[${items.join(', ')}]`;
  }
  if (!isPlainObject(value)) {
    const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
    return refuse(path, value, `a ${name} instance has no Python literal; ${ACCEPTED}`);
  }
  if (Object.getOwnPropertySymbols(value).length > 0) refuse(path, value, 'symbol keys have no Python literal');
  // Own keys only, `__proto__` included (an own data property read as such, never the prototype).
  const entries = Object.keys(value).map((key) => {
    const item = (Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor).value as unknown;
    return `${pythonString(key)}: ${encode(item, childPath(path, key), stack)}`;
  });
  return `{${entries.join(', ')}}`;
}

function encode(value: unknown, path: string, stack: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return pythonString(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'number':
      return pythonNumber(value);
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return refuse(path, value, ACCEPTED);
  }
  if (value === null) return 'None';
  if (value instanceof PyFloat) return pythonFloat(value.value);
  if (stack.has(value)) refuse(path, value, 'it contains itself (a cycle)');
  if (stack.size >= MAX_LITERAL_DEPTH)
    refuse(path, value, `it is nested deeper than ${MAX_LITERAL_DEPTH} levels, which Python cannot parse`);
  stack.add(value);
  try {
    return encodeContainer(value, path, stack);
  } finally {
    stack.delete(value);
  }
}

/**
 * Encodes a value as Python source that evaluates back to exactly that value. It is the only way user
 * data enters the generated entry file, so it refuses (naming the key path) anything without a literal.
 */
export function toPythonLiteral(value: unknown, options: ToPythonLiteralOptions = {}): string {
  return encode(value, options.name ?? 'value', new Set());
}
