/**
 * Checks an answer of a server lifecycle route against its strict response schema
 * (response-schemas/lifecycle.ts): a route answered with a status no schema lists fails, as does a body
 * with a key too many or too few.
 */
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import type { LightMyRequestResponse } from 'fastify';
import { RESPONSE_SCHEMAS } from './response-schemas/lifecycle.ts';

const ajv = new Ajv({ strict: false });

function minor(version: string): number {
  return Number(version.split('.')[1]);
}

/** Asserts that `res`, the answer to `method path` at `version` (default 2.1), matches its schema. */
export function assertConforms(
  res: LightMyRequestResponse,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  version = '2.1',
): void {
  const entry = RESPONSE_SCHEMAS.find(
    (s) =>
      s.method === method &&
      s.path === path &&
      s.status === res.statusCode &&
      (s.minVersion === undefined || minor(s.minVersion) <= minor(version)) &&
      (s.maxVersion === undefined || minor(version) <= minor(s.maxVersion)),
  );
  assert.ok(entry, `no response schema for ${method} ${path} ${res.statusCode} at ${version}`);
  const body: unknown = res.body === '' ? null : res.json();
  const validate = ajv.compile(entry.schema);
  assert.ok(validate(body), `${method} ${path}: ${ajv.errorsText(validate.errors)} in ${res.body}`);
}
