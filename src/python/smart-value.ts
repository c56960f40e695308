// The `yolo` CLI types `key=value` with `smart_value` (ultralytics/cfg/__init__.py): `none`/`true`/`false`
// in any case, else `eval(v)`, else the string itself. ddprun evaluates literals only (what
// `ast.literal_eval` accepts: numbers, strings, lists, tuples, dicts, True/False/None), never code.
import { pyDict, pyFloat, pyTuple } from './literal.js';
import { parsePythonLiteral, type PyLiteral } from './literal-parse.js';

export type { PyLiteral } from './literal-parse.js';

/** Types one `key=value` value the way `yolo`'s `smart_value` does, for literals. */
export function smartValue(text: string): PyLiteral {
  const lower = text.toLowerCase();
  if (lower === 'none') return { type: 'none' };
  if (lower === 'true') return { type: 'bool', value: true };
  if (lower === 'false') return { type: 'bool', value: false };
  return parsePythonLiteral(text) ?? { type: 'str', value: text };
}

/**
 * A parsed literal as `DdpTrainer.args` holds it, so the entry file writes it back with the same type:
 * floats stay floats through `pyFloat` (`lr0=1.0`), dicts keep their key types and order through `pyDict`
 * (`names={0: 'person'}`), and tuples inside a value stay tuples (`pyTuple`). A tuple that is the whole value
 * (`imgsz=640,480`) arrives as a list, which Ultralytics reads the same way.
 */
export function literalToJs(value: PyLiteral, nested = false): unknown {
  switch (value.type) {
    case 'none':
      return null;
    case 'bool':
    case 'str':
      return value.value;
    case 'float':
      return pyFloat(value.value);
    case 'int':
      return Number.isSafeInteger(Number(value.value)) ? Number(value.value) : value.value;
    case 'list':
      return value.items.map((item) => literalToJs(item, true));
    case 'tuple': {
      const items = value.items.map((item) => literalToJs(item, true));
      return nested ? pyTuple(items) : items;
    }
    case 'dict':
      return pyDict(value.entries.map(([k, v]) => [literalToJs(k, true), literalToJs(v, true)]));
  }
}
