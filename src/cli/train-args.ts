import { UsageError, describeValue } from '../errors.js';
import { isPythonIdentifier, isPythonName } from '../python/identifier.js';
import { smartValue, type PyLiteral } from '../python/smart-value.js';

/** `pkg.module.ClassName` → `{ module: 'pkg.module', className: 'ClassName' }`. */
export function parseTrainerName(name: string): { module: string; className: string } {
  const parts = name.split('.');
  if (parts.length < 2 || !parts.every(isPythonIdentifier)) {
    throw new UsageError(
      `The trainer ${describeValue(name)} is not \`module.ClassName\`. Name the class with its module, e.g. \`ddprun train ultralytics.models.yolo.detect.DetectionTrainer model=yolo11n.pt\`.`,
      'trainer',
    );
  }
  return { module: parts.slice(0, -1).join('.'), className: parts.at(-1) as string };
}

// yolo's merge_equals_args: `epochs = 3`, `epochs= 3` and `epochs =3` are one argument.
function mergeEquals(tokens: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i] as string;
    const next = tokens[i + 1];
    if (token === '=' && out.length > 0 && next !== undefined) {
      out[out.length - 1] += `=${next}`;
      i += 1;
    } else if (token.endsWith('=') && next !== undefined && !next.includes('=')) {
      out.push(token + next);
      i += 1;
    } else if (token.startsWith('=') && out.length > 0) {
      out[out.length - 1] += token;
    } else out.push(token);
  }
  return out;
}

/** Parses yolo-style `key=value` arguments; the values are typed like `yolo`'s `smart_value` types them. */
export function parseKeyValues(tokens: readonly string[]): Map<string, PyLiteral> {
  const args = new Map<string, PyLiteral>();
  for (const raw of mergeEquals(tokens)) {
    // yolo accepts (and warns about) leading dashes and a trailing comma.
    const token = raw.replace(/^--/, '').replace(/,$/, '');
    const eq = token.indexOf('=');
    const key = eq === -1 ? token.trim() : token.slice(0, eq).trim();
    const value = eq === -1 ? '' : token.slice(eq + 1).trim();
    if (eq === -1 || !isPythonName(key)) {
      throw new UsageError(
        `The trainer argument ${describeValue(raw)} is not \`key=value\`. Write it like \`epochs=3\` or \`device=0,1\`.`,
        'trainer',
      );
    }
    if (value === '') {
      throw new UsageError(`The trainer argument \`${key}\` has no value. Write it like \`${key}=VALUE\`.`, 'trainer');
    }
    args.set(key, smartValue(value));
  }
  return args;
}
