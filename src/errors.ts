/** Base class of every error ddprun throws on purpose; `name` tells the kind. */
export class DdprunError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DdprunError';
  }
}

/** Bad input: thrown before anything is written, spawned or deleted. The CLI maps it to exit code 2. */
export class UsageError extends DdprunError {
  readonly option: string | undefined;
  constructor(message: string, option?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
    this.option = option;
  }
}

/** No usable Python interpreter (none found, or none with torch). */
export class PythonNotFoundError extends DdprunError {
  readonly tried: readonly { python: string; reason: string }[];
  constructor(message: string, tried: readonly { python: string; reason: string }[]) {
    super(message);
    this.name = 'PythonNotFoundError';
    this.tried = tried;
  }
}

/** A refused `save_dir` clean-up (`/`, home, cwd or an ancestor, the config dir, not a directory). */
export class UnsafePathError extends DdprunError {
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.name = 'UnsafePathError';
    this.path = path;
  }
}

/** A node gave up waiting for node 0's store. */
export class RendezvousTimeoutError extends DdprunError {
  readonly address: string;
  constructor(message: string, address: string) {
    super(message);
    this.name = 'RendezvousTimeoutError';
    this.address = address;
  }
}

/** Describes a value for an error message the way execa does: `NaN` (number). */
export function describeValue(value: unknown): string {
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(value);
  else if (typeof value === 'bigint') shown = `${value}n`;
  else if (typeof value === 'function') shown = value.name ? `[Function ${value.name}]` : '[Function]';
  else if (typeof value === 'symbol') shown = value.toString();
  else if (value === undefined) shown = 'undefined';
  else if (typeof value === 'number')
    shown = Object.is(value, -0) ? '-0' : String(value); // JSON would say `null` for NaN
  else {
    try {
      shown = JSON.stringify(value) ?? String(value);
    } catch {
      shown = String(value);
    }
  }
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}
