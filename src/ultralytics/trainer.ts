import path from 'node:path';
import { UsageError, describeValue } from '../errors.js';
import { toPythonLiteral } from '../python/literal.js';
import { isPythonIdentifier } from '../python/identifier.js';
import type { DdpTrainer } from '../model/trainer.js';

// Fixed-width ids: `ddpCleanup` matches `${id}.py` as a substring (as the seed does), so with a fixed
// width one trainer's id can never be the tail of another's (`1.py` would match `_temp_ab11.py`).
const ID_BASE = 100_000_000_000_000;
const ids = new WeakMap<object, number>();
let nextId = 1;

/** Python's `id(trainer)`: the same number for the same object for its whole life, distinct for live objects. */
export function trainerId(trainer: DdpTrainer): number {
  if (typeof trainer !== 'object' || trainer === null) {
    throw new UsageError(`Expected the \`trainer\` to be an object, got ${describeValue(trainer)}`, 'trainer');
  }
  let id = ids.get(trainer);
  if (id === undefined) {
    id = ID_BASE + nextId++;
    ids.set(trainer, id);
  }
  return id;
}

/** A trainer whose fields passed validation, with the Python source of `overrides` and of the model. */
export interface CheckedTrainer {
  module: string;
  className: string;
  overridesSource: string;
  modelSource: string;
  resume: boolean;
  /** Absolute `saveDir`, or undefined when none was given. */
  saveDir: string | undefined;
}

/** The trainer's fields as checked: the test each passes, and what it is expected to be when it does not. */
const FIELD_CHECKS: readonly (readonly [keyof DdpTrainer, (value: unknown) => boolean, string])[] = [
  [
    'module',
    (v) => typeof v === 'string' && v.split('.').every(isPythonIdentifier),
    'a dotted Python module name such as `ultralytics.models.yolo.detect.train`',
  ],
  [
    'className',
    (v) => typeof v === 'string' && isPythonIdentifier(v),
    'a Python class name such as `DetectionTrainer`',
  ],
  ['args', (v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'a plain object (vars(trainer.args))'],
  ['resume', (v) => v === undefined || typeof v === 'boolean' || typeof v === 'string', 'a boolean or a string'],
  ['saveDir', (v) => v === undefined || (typeof v === 'string' && v !== ''), 'a non-empty path'],
  ['hubSession', (v) => v === undefined || v === null || typeof v === 'object', 'an object or null'],
];

/** A class of `__main__` is the script that ran, which the entry file (itself the ranks' `__main__`) cannot import. */
function definedInMain(className: string): UsageError {
  return new UsageError(
    `The trainer \`__main__.${className}\` is defined in the script that was run (\`__main__\`), which the ranks cannot import: each rank runs ddprun's entry file, and that file is their \`__main__\`. Move the class into a module (e.g. my_trainer.py in the launch directory) and name it by that module: \`ddprun train my_trainer.${className}\`.`,
    'trainer.module',
  );
}

/** Validates every field `generateDdpFile` / `generateDdpCommand` read, before any effect. */
export function checkTrainer(trainer: DdpTrainer): CheckedTrainer {
  trainerId(trainer); // throws the object check
  for (const [field, ok, expected] of FIELD_CHECKS) {
    const value: unknown = trainer[field];
    if (!ok(value))
      throw new UsageError(
        `Expected \`trainer.${field}\` to be ${expected}, got ${describeValue(value)}`,
        `trainer.${field}`,
      );
  }
  const { module, className, args, resume, saveDir, hubSession } = trainer;
  if (module === '__main__') throw definedInMain(className);
  const modelUrl = hubSession?.modelUrl;
  if (modelUrl !== undefined && typeof modelUrl !== 'string') {
    throw new UsageError(
      `Expected \`trainer.hubSession.modelUrl\` to be a string, got ${describeValue(modelUrl)}`,
      'trainer.hubSession.modelUrl',
    );
  }
  const overridesSource = toPythonLiteral(args, { name: 'trainer.args' });
  // getattr(trainer.hub_session, "model_url", trainer.args.model), written as a literal, never raw text.
  const modelSource =
    modelUrl !== undefined
      ? toPythonLiteral(modelUrl, { name: 'trainer.hubSession.modelUrl' })
      : toPythonLiteral(args.model ?? null, { name: 'trainer.args.model' });
  return {
    module,
    className,
    overridesSource,
    modelSource,
    resume: Boolean(resume),
    saveDir: saveDir === undefined ? undefined : path.resolve(saveDir),
  };
}
