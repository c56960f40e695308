import path from 'node:path';
import { UsageError, describeValue } from '../errors.js';
import { toPythonLiteral } from '../python/literal.js';
import { isPythonIdentifier } from '../python/identifier.js';
import type { DdpTrainer } from './types.js';

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

/** Validates every field `generateDdpFile` / `generateDdpCommand` read, before any effect. */
export function checkTrainer(trainer: DdpTrainer): CheckedTrainer {
  trainerId(trainer); // throws the object check
  const { module, className, args, resume, saveDir, hubSession } = trainer;
  if (typeof module !== 'string' || !module.split('.').every(isPythonIdentifier)) {
    throw new UsageError(
      `Expected \`trainer.module\` to be a dotted Python module name such as \`ultralytics.models.yolo.detect.train\`, got ${describeValue(module)}`,
      'trainer.module',
    );
  }
  if (typeof className !== 'string' || !isPythonIdentifier(className)) {
    throw new UsageError(
      `Expected \`trainer.className\` to be a Python class name such as \`DetectionTrainer\`, got ${describeValue(className)}`,
      'trainer.className',
    );
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new UsageError(
      `Expected \`trainer.args\` to be a plain object (vars(trainer.args)), got ${describeValue(args)}`,
      'trainer.args',
    );
  }
  if (resume !== undefined && typeof resume !== 'boolean' && typeof resume !== 'string') {
    throw new UsageError(
      `Expected \`trainer.resume\` to be a boolean or a string, got ${describeValue(resume)}`,
      'trainer.resume',
    );
  }
  if (saveDir !== undefined && (typeof saveDir !== 'string' || saveDir === '')) {
    throw new UsageError(
      `Expected \`trainer.saveDir\` to be a non-empty path, got ${describeValue(saveDir)}`,
      'trainer.saveDir',
    );
  }
  if (hubSession !== undefined && hubSession !== null && typeof hubSession !== 'object') {
    throw new UsageError(
      `Expected \`trainer.hubSession\` to be an object or null, got ${describeValue(hubSession)}`,
      'trainer.hubSession',
    );
  }
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
