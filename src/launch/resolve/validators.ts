import { constants as osConstants } from 'node:os';
import { UsageError, describeValue } from '../../errors.js';

// Node's lib/internal/validators.js, for launch options: each check names the option, what it expects and what
// it got, and throws a UsageError (ERR code in `option`) before anything is done.

/** Throws "Expected the `option` option to be EXPECTED, got `VALUE` (type)". */
export function fail(option: string, value: unknown, expected: string): never {
  throw new UsageError(`Expected the \`${option}\` option to be ${expected}, got ${describeValue(value)}`, option);
}

export function validateInteger(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(option, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** An optional integer option: its default when absent. */
export function integerOr(option: string, value: unknown, min: number, max: number, dflt: number): number {
  return value === undefined ? dflt : validateInteger(option, value, min, max);
}

export function validateBoolean(option: string, value: unknown, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') fail(option, value, '`true` or `false`');
  return value;
}

/** A string without NUL (which no argv, path or environment entry can carry). */
export function validateString(option: string, value: unknown, expected: string): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) fail(option, value, expected);
  return value;
}

export function validateOneOf<T extends string>(option: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value))
    fail(option, value, `one of ${choices.map((c) => `'${c}'`).join(', ')}`);
  return value as T;
}

/** A plain object (not an array, not null). */
export function validateObject(option: string, value: unknown, expected: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(option, value, expected);
  return value as Record<string, unknown>;
}

/** `stopSignal`: a signal a process can catch (SIGKILL and SIGSTOP cannot be: they leave no time to checkpoint). */
export function validateStopSignal(value: unknown): NodeJS.Signals {
  if (
    value === 'SIGKILL' ||
    value === 'SIGSTOP' ||
    typeof value !== 'string' ||
    !Object.hasOwn(osConstants.signals, value)
  )
    fail('stopSignal', value, 'a signal name a process can catch, such as `SIGTERM`, `SIGINT` or `SIGUSR1`');
  return value as NodeJS.Signals;
}

/** A signal name this platform knows (`SIGTERM`), as `stop()` takes; numbers are refused, as names are clearer. */
export function validateSignal(option: string, value: unknown): NodeJS.Signals {
  if (typeof value !== 'string' || !Object.hasOwn(osConstants.signals, value))
    fail(option, value, 'a signal name such as `SIGTERM` or `SIGINT`');
  return value as NodeJS.Signals;
}
