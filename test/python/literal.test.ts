import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_LITERAL_DEPTH, pyFloat, pythonFloat, toPythonLiteral } from '../../src/python/literal.js';
import { TORCH_SKIP_REASON, runPython, torchPython } from '../helpers/python.js';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
  return value;
}

describe('toPythonLiteral', () => {
  it("reads like Python's repr for ordinary values", () => {
    expect(toPythonLiteral({ epochs: 3, amp: true, name: null, lr0: 0.01, imgsz: [640, 480], tag: "it's" })).toBe(
      `{'epochs': 3, 'amp': True, 'name': None, 'lr0': 0.01, 'imgsz': [640, 480], 'tag': "it's"}`,
    );
    expect(toPythonLiteral([])).toBe('[]');
    expect(toPythonLiteral({})).toBe('{}');
    expect(toPythonLiteral(Object.create(null) as object)).toBe('{}');
  });

  it('writes safe integers as ints, bigints of any size as ints, pyFloat() and other numbers as floats', () => {
    expect(toPythonLiteral(2n ** 100n)).toBe('1267650600228229401496703205376');
    expect(toPythonLiteral(-(2n ** 70n))).toBe('-1180591620717411303424');
    expect(toPythonLiteral(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(toPythonLiteral(2 ** 60)).toBe('1.152921504606847e+18');
    expect(toPythonLiteral(pyFloat(1))).toBe('1.0');
    expect(toPythonLiteral(pyFloat(-0))).toBe('-0.0');
    expect(toPythonLiteral(-0)).toBe('-0.0');
    expect([NaN, Infinity, -Infinity].map((v) => toPythonLiteral(v))).toEqual([
      "float('nan')",
      "float('inf')",
      "-float('inf')",
    ]);
  });

  it('escapes what Python escapes and keeps printable Unicode', () => {
    expect(toPythonLiteral('a\'b"c')).toBe(`'a\\'b"c'`);
    expect(toPythonLiteral('back\\slash\n\r\t\0\x1b')).toBe(`'back\\\\slash\\n\\r\\t\\x00\\x1b'`);
    expect(toPythonLiteral('日本 🚀 é')).toBe(`'日本 🚀 é'`);
    expect(toPythonLiteral('\u2028\u202e\ufeff\ud800\u00a0')).toBe(`'\\u2028\\u202e\\ufeff\\ud800\\xa0'`);
  });

  it('refuses values without a Python literal, naming the key path', () => {
    const cases: [unknown, string][] = [
      [
        { a: () => 1 },
        'Cannot write `args.a` as a Python literal: got `[Function a]` (function); expected null, a boolean, a number, a bigint, a string, pyFloat(), an array or a plain object.',
      ],
      [
        { a: [1, { 'b c': undefined }] },
        'Cannot write `args.a[1]["b c"]` as a Python literal: got `undefined` (undefined); expected null, a boolean, a number, a bigint, a string, pyFloat(), an array or a plain object.',
      ],
      [
        { s: Symbol('x') },
        'Cannot write `args.s` as a Python literal: got `Symbol(x)` (symbol); expected null, a boolean, a number, a bigint, a string, pyFloat(), an array or a plain object.',
      ],
      [
        { when: new Date(0) },
        'Cannot write `args.when` as a Python literal: got an object; a Date instance has no Python literal; expected null, a boolean, a number, a bigint, a string, pyFloat(), an array or a plain object.',
      ],
      [
        { m: new Map() },
        'Cannot write `args.m` as a Python literal: got an object; a Map instance has no Python literal; expected null, a boolean, a number, a bigint, a string, pyFloat(), an array or a plain object.',
      ],
      [
        // eslint-disable-next-line no-sparse-arrays
        { h: [1, , 3] },
        'Cannot write `args.h[1]` as a Python literal: got `undefined` (undefined); arrays must not have holes.',
      ],
      [
        { [Symbol('k')]: 1 },
        'Cannot write `args` as a Python literal: got an object; symbol keys have no Python literal.',
      ],
      [
        { deep: nested(MAX_LITERAL_DEPTH) },
        `Cannot write \`args.deep${'[0].k'.repeat(MAX_LITERAL_DEPTH / 2 - 1)}[0]\` as a Python literal: got an object; it is nested deeper than ${MAX_LITERAL_DEPTH} levels, which Python cannot parse.`,
      ],
    ];
    for (const [value, message] of cases) expect(() => toPythonLiteral(value, { name: 'args' })).toThrow(message);
    const cycle: Record<string, unknown> = { x: [1] };
    (cycle.x as unknown[]).push(cycle);
    expect(() => toPythonLiteral(cycle, { name: 'args' })).toThrow(
      'Cannot write `args.x[1]` as a Python literal: got an object; it contains itself (a cycle).',
    );
    const shared = { v: 1 };
    expect(toPythonLiteral({ a: shared, b: shared })).toBe("{'a': {'v': 1}, 'b': {'v': 1}}");
  });

  it("writes floats exactly as Python's repr, and Python reads back the same double", async (ctx) => {
    const python = await torchPython();
    if (!python) return ctx.skip(TORCH_SKIP_REASON);
    const doubles = [
      0.1, 1e-4, 9.99e-5, 1e-5, 1e15, 1e16, 123456789.125, 5e-324, 1.7976931348623157e308, 0.30000000000000004, 2.5,
      -1.5e-7, 1e22,
    ];
    const view = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < 2000; i++) {
      // random bit patterns cover every exponent; random() covers ordinary values
      view.setUint32(0, Math.floor(Math.random() * 2 ** 32));
      view.setUint32(4, Math.floor(Math.random() * 2 ** 32));
      const bits = view.getFloat64(0);
      doubles.push(Number.isFinite(bits) ? bits : Math.random() * 10 ** Math.floor(Math.random() * 40 - 20));
    }
    const literals = doubles.map(pythonFloat);
    const script = `import ast, json, struct, sys
out = []
for lit in json.loads(open(sys.argv[1]).read()):
    v = ast.literal_eval(lit)
    out.append([repr(v), struct.pack('>d', v).hex()])
print(json.dumps(out))`;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ddprun-literal-'));
    try {
      await writeFile(path.join(dir, 'lits.json'), JSON.stringify(literals));
      const out = JSON.parse(await runPython(python, ['-c', script, path.join(dir, 'lits.json')])) as [
        string,
        string,
      ][];
      const expected = doubles.map((d): [string, string] => {
        view.setFloat64(0, d);
        return [pythonFloat(d), Buffer.from(view.buffer).toString('hex')];
      });
      expect(out).toEqual(expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
