// The `yolo` CLI types `key=value` with `smart_value` (ultralytics/cfg/__init__.py): `none`/`true`/`false`
// in any case, else `eval(v)`, else the string itself. ddprun evaluates literals only (what
// `ast.literal_eval` accepts: numbers, strings, lists, tuples, dicts, True/False/None), never code.
import { parsePythonLiteral, type PyLiteral } from '../python/literal-parse.js';

export type { PyLiteral } from '../python/literal-parse.js';

/** Types one `key=value` value the way `yolo`'s `smart_value` does, for literals. */
export function smartValue(text: string): PyLiteral {
  const lower = text.toLowerCase();
  if (lower === 'none') return { type: 'none' };
  if (lower === 'true') return { type: 'bool', value: true };
  if (lower === 'false') return { type: 'bool', value: false };
  return parsePythonLiteral(text) ?? { type: 'str', value: text };
}
