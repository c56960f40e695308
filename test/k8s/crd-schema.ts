import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// A custom resource checked as the API server and kubectl check it: against its CRD's OpenAPI v3 schema (see
// test/fixtures/k8s-crds/README.md), with kubectl's default strict field validation (an unknown field is an error, where the
// schema does not keep unknown fields).

type Schema = Record<string, unknown>;

const here = path.dirname(fileURLToPath(import.meta.url));

/** `schema` with every object that lists its properties closed to others, as strict field validation treats it. */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema))
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, strict(v)]))
        : strict(value);
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  return out;
}

interface ValidateFunction {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string; params: unknown }[] | null;
}
interface AjvClass {
  new (options: Record<string, unknown>): { compile(schema: Schema): ValidateFunction };
}

// ajv 8, the validator kubernetes-models itself runs on (its @kubernetes-models/validate depends on it), loaded
// through that package: ESLint keeps an ajv 6 beside it, and which of the two is hoisted is npm's choice.
const requireFromValidate = createRequire(createRequire(import.meta.url).resolve('@kubernetes-models/validate'));
const { Ajv } = requireFromValidate('ajv') as { Ajv: AjvClass };
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map<string, ValidateFunction>();

/** The validator of the schema file `name` (e.g. `jobset.v1alpha2.json`). */
function validator(name: string): ValidateFunction {
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.compile(
      strict(JSON.parse(readFileSync(path.join(here, '..', 'fixtures', 'k8s-crds', name), 'utf8'))) as Schema,
    );
    validators.set(name, validate);
  }
  return validate;
}

/** Throws, naming each field and why, unless `object` is valid for the schema file `name`. */
export function validateCustomResource(name: string, object: unknown): void {
  const validate = validator(name);
  if (!validate(object))
    throw new Error(
      `${name}: ${(validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`).join('; ')}`,
    );
}
