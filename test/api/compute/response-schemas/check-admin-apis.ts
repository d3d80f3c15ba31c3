/** Checks a response of the operator APIs against its strict schema in admin-apis.ts. */
import assert from 'node:assert/strict';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';
import { RESPONSE_SCHEMAS } from './admin-apis.ts';

const ajv = new Ajv({ allErrors: true, strict: false });
// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
(addFormatsModule as unknown as (ajv: Ajv) => Ajv)(ajv);
const compiled = new Map<object, ValidateFunction>();

function minor(version: string): number {
  return Number(version.split('.')[1]);
}

/** Asserts `res` has a schema for `method path` at `version` and matches it. */
export function assertAdminApiSchema(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  version: string,
  res: LightMyRequestResponse,
): void {
  const at = minor(version);
  const entry = RESPONSE_SCHEMAS.find(
    (s) =>
      s.method === method &&
      s.path === path &&
      s.status === res.statusCode &&
      (s.minVersion === undefined || minor(s.minVersion) <= at) &&
      (s.maxVersion === undefined || at <= minor(s.maxVersion)),
  );
  assert.ok(entry, `no response schema for ${method} ${path} ${res.statusCode} at ${version}`);
  let validate = compiled.get(entry.schema);
  if (!validate) {
    validate = ajv.compile(entry.schema);
    compiled.set(entry.schema, validate);
  }
  const body: unknown = res.json();
  assert.ok(validate(body), `${method} ${path} at ${version}: ${ajv.errorsText(validate.errors)}\n${res.body}`);
}
