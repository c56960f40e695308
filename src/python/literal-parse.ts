// A Python literal as `ast.literal_eval` reads it (numbers, strings, lists, tuples, dicts, True/False/None), parsed in
// TypeScript: what a user or a script wrote never runs as code. Used by `ddprun train key=value` (yolo's smart_value)
// and by the metric parser (Hugging Face's printed log dicts).

/** A Python literal, with int/float and list/tuple kept apart (JavaScript cannot tell `1` from `1.0`). */
export type PyLiteral =
  | { type: 'none' }
  | { type: 'bool'; value: boolean }
  | { type: 'int'; value: bigint }
  | { type: 'float'; value: number }
  | { type: 'str'; value: string }
  | { type: 'list' | 'tuple'; items: PyLiteral[] }
  | { type: 'dict'; entries: [PyLiteral, PyLiteral][] };

class Fail extends Error {}

function hashable(value: PyLiteral): boolean {
  if (value.type === 'list' || value.type === 'dict') return false;
  return value.type !== 'tuple' || value.items.every(hashable);
}

/** CPython's tokenizer limit ("too many nested parentheses" beyond it). */
export const MAX_NESTING = 200;

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(
    private readonly text: string,
    private readonly floatWords = false,
  ) {}

  parseTop(): PyLiteral {
    this.ws();
    const first = this.value();
    this.ws();
    if (this.peek() === ',') {
      // A bare tuple, `0,1` → (0, 1), as eval does.
      const items = [first];
      while (this.eat(',')) {
        this.ws();
        if (this.done()) break;
        items.push(this.value());
        this.ws();
      }
      this.end();
      return { type: 'tuple', items };
    }
    this.end();
    return first;
  }

  private end(): void {
    this.ws();
    if (!this.done()) throw new Fail();
  }
  private done(): boolean {
    return this.pos >= this.text.length;
  }
  private peek(): string {
    return this.text[this.pos] ?? '';
  }
  private eat(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.pos += 1;
    return true;
  }
  private ws(): void {
    while (/\s/.test(this.peek()) && !this.done()) this.pos += 1;
  }

  private value(): PyLiteral {
    this.ws();
    const ch = this.peek();
    if ('[({'.includes(ch) && ch !== '') return this.nested(() => this.container(ch));
    return this.scalar(ch);
  }

  /**
   * Deeper than Python's 200 nested brackets, eval fails and yolo keeps the text: so does this parser (no stack
   * overflow).
   */
  private nested(parse: () => PyLiteral): PyLiteral {
    if (++this.depth > MAX_NESTING) throw new Fail();
    try {
      return parse();
    } finally {
      this.depth -= 1;
    }
  }

  private container(ch: string): PyLiteral {
    if (ch === '[') return { type: 'list', items: this.sequence(']').items };
    if (ch === '(') {
      const { items, comma } = this.sequence(')');
      if (items.length === 1 && !comma) return items[0] as PyLiteral;
      return { type: 'tuple', items };
    }
    return this.dict();
  }

  private scalar(ch: string): PyLiteral {
    if (/^[rRuU]?['"]/.test(this.text.slice(this.pos))) return this.string();
    if (this.floatWords) {
      // repr() of a float that is not finite: `nan`, `inf`, `-inf` (names, not literals, so only where asked for).
      const word = /^(-?)(nan|inf)(?!\w)/.exec(this.text.slice(this.pos));
      if (word) {
        this.pos += word[0].length;
        return { type: 'float', value: word[2] === 'nan' ? NaN : word[1] ? -Infinity : Infinity };
      }
    }
    if (ch === '+' || ch === '-' || ch === '.' || /\d/.test(ch)) return this.number();
    const word = /^[A-Za-z_]\w*/.exec(this.text.slice(this.pos))?.[0];
    if (word === 'None' || word === 'True' || word === 'False') {
      this.pos += word.length;
      return word === 'None' ? { type: 'none' } : { type: 'bool', value: word === 'True' };
    }
    throw new Fail();
  }

  private sequence(close: string): { items: PyLiteral[]; comma: boolean } {
    this.pos += 1;
    const items: PyLiteral[] = [];
    let comma = false;
    this.ws();
    while (!this.eat(close)) {
      if (this.done()) throw new Fail();
      items.push(this.value());
      this.ws();
      if (this.eat(',')) comma = true;
      else if (this.peek() !== close) throw new Fail();
      this.ws();
    }
    return { items, comma };
  }

  private dict(): PyLiteral {
    this.pos += 1;
    const entries: [PyLiteral, PyLiteral][] = [];
    this.ws();
    while (!this.eat('}')) {
      if (this.done()) throw new Fail();
      const key = this.value();
      if (!hashable(key)) throw new Fail(); // eval raises TypeError: unhashable type
      this.ws();
      if (!this.eat(':')) throw new Fail();
      entries.push([key, this.value()]);
      this.ws();
      if (!this.eat(',') && this.peek() !== '}') throw new Fail();
      this.ws();
    }
    return { type: 'dict', entries };
  }

  private number(): PyLiteral {
    const rest = this.text.slice(this.pos);
    const match =
      /^([+-]\s*)*(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*)?\.?(?:\d(?:_?\d)*)?(?:[eE][+-]?\d(?:_?\d)*)?)(?![\w.])/.exec(
        rest,
      );
    if (!match || !match[2] || match[2] === '.') throw new Fail();
    this.pos += match[0].length;
    const negative =
      match[0]
        .slice(0, match[0].length - match[2].length)
        .split('')
        .filter((c) => c === '-').length %
        2 ===
      1;
    const body = match[2].replace(/_/g, '');
    if (/^0[xXoObB]/.test(body) || /^\d+$/.test(body)) {
      if (/^0\d/.test(body) && /[1-9]/.test(body)) throw new Fail(); // `01` is a SyntaxError in Python 3
      const value = BigInt(body);
      return { type: 'int', value: negative ? -value : value };
    }
    const value = Number(body);
    if (Number.isNaN(value)) throw new Fail();
    return { type: 'float', value: negative ? -value : value };
  }

  /**
   * A str literal with its prefix (`r`, `u`, any case): `'…'`, `"…"`, or triple-quoted; bytes and f-strings are not
   * literals we take.
   */
  private string(): PyLiteral {
    const prefix = /^[rRuU]?/.exec(this.text.slice(this.pos))?.[0] ?? '';
    this.pos += prefix.length;
    const raw = prefix.toLowerCase() === 'r';
    const quote = this.text.startsWith(this.peek().repeat(3), this.pos) ? this.peek().repeat(3) : this.peek();
    this.pos += quote.length;
    let out = '';
    for (;;) {
      if (this.done()) throw new Fail();
      if (this.text.startsWith(quote, this.pos)) {
        this.pos += quote.length;
        break;
      }
      const ch = this.text[this.pos] as string;
      this.pos += 1;
      if (ch === '\n' && quote.length === 1) throw new Fail(); // an unterminated single-quoted string
      if (ch !== '\\') out += ch;
      else if (raw) {
        // A raw string keeps the backslash, and the escaped character (a quote too) is part of the text.
        out += ch + (this.text[this.pos] ?? '');
        this.pos += 1;
      } else out += this.escape();
    }
    // Adjacent literals concatenate: 'a' 'b' → 'ab'.
    this.ws();
    if (/^[rRuU]?['"]/.test(this.text.slice(this.pos))) {
      const next = this.string() as { type: 'str'; value: string };
      return { type: 'str', value: out + next.value };
    }
    return { type: 'str', value: out };
  }

  /** One escape after a backslash, as Python's str literal reads it (`\x41`, `\u00e9`, `\101`, `\N{…}` is refused). */
  private escape(): string {
    const next = this.text[this.pos] ?? '';
    this.pos += 1;
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) return simple;
    if (/[0-7]/.test(next)) {
      const digits = next + (/^[0-7]{0,2}/.exec(this.text.slice(this.pos))?.[0] ?? '');
      this.pos += digits.length - 1;
      return String.fromCodePoint(parseInt(digits, 8));
    }
    const width = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (width > 0) {
      const hex = this.text.slice(this.pos, this.pos + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) throw new Fail(); // Python: SyntaxError
      this.pos += width;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) throw new Fail();
      return String.fromCodePoint(cp);
    }
    if (next === 'N') throw new Fail(); // named escapes need Unicode's name table; kept as text
    return `\\${next}`; // an unknown escape keeps its backslash, as Python does
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\n': '',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

export interface ParseLiteralOptions {
  /** Also read `nan`, `inf` and `-inf` as floats (what `repr()` prints for them). @default false */
  floatWords?: boolean;
}

/** The literal `text` spells, or undefined when it is not one (what `ast.literal_eval` would refuse). */
export function parsePythonLiteral(text: string, options: ParseLiteralOptions = {}): PyLiteral | undefined {
  try {
    return new Parser(text, options.floatWords ?? false).parseTop();
  } catch (error) {
    if (error instanceof Fail) return undefined;
    throw error;
  }
}
