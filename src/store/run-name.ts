import { UsageError, describeValue } from '../errors.js';

// A run's name (`--name foo`, `launch({ name })`): a second handle on a run besides its id. Ids start with a digit and
// names with a letter, so a name can never be read as an id or an id's prefix.

/** The alias of the newest run in the store. */
export const LAST_RUN = 'last';

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/** Whether `text` has the form of a run name (`last` aside). */
export function isRunName(text: string): boolean {
  return NAME_PATTERN.test(text) && text !== LAST_RUN;
}

/** The `name` option checked: undefined, or a letter then up to 63 letters, digits, `.`, `_`, `-`; not `last`. */
export function resolveRunName(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && isRunName(value)) return value;
  throw new UsageError(
    `Expected the \`name\` option to be a letter followed by up to 63 letters, digits, '.', '_' or '-' (not 'last', which names the newest run), got ${describeValue(value)}`,
    'name',
  );
}
