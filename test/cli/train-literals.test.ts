import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { literalToJs, smartValue } from '../../src/python/smart-value.js';
import { pyDict, pyFloat, pyTuple, toPythonLiteral } from '../../src/python/literal.js';
import { runPython, torchPython } from '../helpers/python.js';
import { FIXTURES, runCli, useSandboxes } from './helpers.js';

const box = useSandboxes();

const TRAINER = 'ultralytics.models.yolo.detect.train.DetectionTrainer';

// key=value texts whose value yolo's smart_value evaluates with eval(): what the trainer gets must be what eval gives.
const VALUES: [string, string][] = [
  ['names', "{0:'person', 1:'bicycle'}"],
  ['mix', '{1.5:2, None:3, True:4, (1,2):5, 0x10:6}'],
  ['order', "{'b': 1, 2: 'x', 'a': {10: [1, (2, 3)], 9: None}}"],
  ['esc', '"\\x41\\u00e9\\101"'],
  ['esc2', "'tab\\there\\U0001F600\\a\\q'"],
  ['rawstr', "r'C:\\new\\table'"],
  ['rawq', 'R"a\\"b"'],
  ['ustr', "u'x' 'y'"],
  ['triple', "'''it's'''"],
  ['deep', `${'['.repeat(150)}1${']'.repeat(150)}`],
  ['proto', "{'__proto__': 1, 'constructor': 2}"],
];

describe('ddprun train: dict keys, strings and nesting as yolo types them', () => {
  it('encodes dicts with their Python key types and order, tuples as keys, __proto__ as a key', () => {
    expect(toPythonLiteral(pyDict([[0, 'person']]))).toBe("{0: 'person'}");
    expect(
      toPythonLiteral(
        pyDict([
          [pyFloat(1.5), 2],
          [null, 3],
          [true, 4],
          [pyTuple([1, 2]), 5],
          [16, 6],
          ['__proto__', pyTuple([1])],
        ]),
      ),
    ).toBe("{1.5: 2, None: 3, True: 4, (1, 2): 5, 16: 6, '__proto__': (1,)}");
    expect(literalToJs(smartValue('{(1,(2,3)):0}'))).toEqual(pyDict([[pyTuple([1, pyTuple([2, 3])]), 0]]));
    expect(() => toPythonLiteral(pyDict([[[1], 2]]), { name: 'args' })).toThrow(
      'Cannot write `args.keys[0]` as a Python literal: got an array; a dict key must be hashable',
    );
  });

  it('keeps a value nested deeper than Python parses as text, as yolo does, without a stack overflow', () => {
    const text = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect(smartValue(text)).toEqual({ type: 'str', value: text });
    expect(smartValue(`${'['.repeat(200)}${']'.repeat(200)}`).type).toBe('list');
    expect(smartValue(`${'['.repeat(201)}${']'.repeat(201)}`).type).toBe('str');
  });

  it('gives the trainer exactly what eval gives for each value: key types, order, escapes, raw strings, 150 levels', async () => {
    const python = await torchPython();
    expect(python).toBeTruthy();
    const s = box();
    const record = path.join(s.out, 'record');
    const env = { ...s.env, PYTHONPATH: FIXTURES, DDPRUN_TEST_RECORD: record };
    const run = await runCli(
      ['train', TRAINER, 'device=[0,1]', '__proto__=7', ...VALUES.map(([k, v]) => `${k}=${v}`)],
      { env, cwd: s.out },
    );
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const rank0 = JSON.parse(readFileSync(`${record}.rank0`, 'utf8')) as { overrides_repr: string };
    const textsFile = path.join(s.out, 'texts.json');
    (await import('node:fs')).writeFileSync(textsFile, JSON.stringify(VALUES.map(([, v]) => v)));
    const out = await runPython(python as string, [
      '-c',
      'import json,sys\nfor t in json.load(open(sys.argv[1])): print(json.dumps(repr(eval(t))))',
      textsFile,
    ]);
    const reprs = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string);
    const expected = `{'device': [0, 1], '__proto__': 7, ${VALUES.map(([k], i) => `'${k}': ${reprs[i]}`).join(', ')}}`;
    expect(rank0.overrides_repr).toBe(expected);
    expect(reprs[0]).toBe("{0: 'person', 1: 'bicycle'}");
    expect(reprs[3]).toBe("'AéA'");
  }, 120_000);
});
