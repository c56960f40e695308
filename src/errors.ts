/**
 * Base class of every error ddprun throws on purpose: `name` tells the kind, `code` (`ERR_DDPRUN_…`, listed in the
 * README's error table) is stable for programs to test, the message is for people.
 */
export class DdprunError extends Error {
  readonly code: string = 'ERR_DDPRUN';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input: thrown before anything is written, spawned or deleted. The CLI maps it to exit code 2. */
export class UsageError extends DdprunError {
  override readonly code: string = 'ERR_DDPRUN_USAGE';
  constructor(
    message: string,
    readonly option?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No usable Python interpreter (none found, or none with torch). */
export class PythonNotFoundError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_PYTHON_NOT_FOUND';
  constructor(
    message: string,
    readonly tried: readonly { python: string; reason: string }[],
  ) {
    super(message);
  }
}

/** A refused `save_dir` clean-up (`/`, home, cwd or an ancestor, the config dir, not a directory). */
export class UnsafePathError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_UNSAFE_PATH';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/** A node gave up waiting for node 0's store. */
export class RendezvousTimeoutError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_RENDEZVOUS_TIMEOUT';
  constructor(
    message: string,
    readonly address: string,
  ) {
    super(message);
  }
}

/** A Python interpreter could not be probed for torch (it crashed, timed out, or printed what ddprun cannot read). */
export class TorchProbeError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_TORCH_PROBE';
  constructor(
    message: string,
    readonly python: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No free TCP port could be found for the rendezvous. */
export class NoFreePortError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_NO_FREE_PORT';
}

/** A file or folder ddprun needed could not be created, opened or written; `path` and `action` say which and why. */
export class FileSystemError extends DdprunError {
  override readonly code = 'ERR_DDPRUN_FS';
  readonly path: string;
  readonly action: string;
  /** The operating system's code (`EEXIST`, `ENOTDIR`, `EACCES`, …), when there is one. */
  readonly systemCode: string | undefined;
  constructor(message: string, fields: { path: string; action: string; cause?: unknown }) {
    super(message, { cause: fields.cause });
    this.path = fields.path;
    this.action = fields.action;
    this.systemCode = (fields.cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** Node's "ENOTDIR: not a directory, mkdir '/x'" as "not a directory (ENOTDIR)". */
export function describeSystemError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code } = error as NodeJS.ErrnoException;
  const match = /^[A-Z]+: (.*?)(?:, \w+ '.*')?$/s.exec(error.message);
  return code && match ? `${match[1]} (${code})` : error.message;
}

/** Runs a file-system step; a system error from it becomes a FileSystemError naming the action and the path. */
export function fsStep<T>(action: string, file: string, step: () => T): T {
  const wrap = (error: unknown) =>
    error instanceof DdprunError || !(error as NodeJS.ErrnoException | undefined)?.code
      ? error
      : new FileSystemError(`Cannot ${action} ${JSON.stringify(file)}: ${describeSystemError(error)}.`, {
          path: file,
          action,
          cause: error,
        });
  try {
    const result = step();
    return (
      result instanceof Promise
        ? result.catch((error: unknown) => {
            throw wrap(error);
          })
        : result
    ) as T;
  } catch (error) {
    throw wrap(error);
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
      shown = JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch {
      shown = Object.prototype.toString.call(value); // a cycle
    }
  }
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}
