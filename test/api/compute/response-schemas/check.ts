/**
 * Checks a response against the strict schema registered for its route, status and microversion, so a
 * test fails on a missing or an extra key.
 */
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import type { LightMyRequestResponse } from 'fastify';
import type { ResponseSchema } from './types.ts';

const ajv = new Ajv({ strict: false, allErrors: true });

function version(text: string): number[] {
  return text.split('.').map(Number);
}

function within(v: string, min?: string, max?: string): boolean {
  const [a, b] = version(v) as [number, number];
  const cmp = (other: string) => {
    const [c, d] = version(other) as [number, number];
    return a !== c ? a - c : b - d;
  };
  return (min === undefined || cmp(min) >= 0) && (max === undefined || cmp(max) <= 0);
}

export function assertMatchesSchema(
  schemas: readonly ResponseSchema[],
  method: ResponseSchema['method'],
  path: string,
  microversion: string,
  res: LightMyRequestResponse,
): void {
  const found = schemas.filter(
    (s) =>
      s.method === method &&
      s.path === path &&
      s.status === res.statusCode &&
      within(microversion, s.minVersion, s.maxVersion),
  );
  assert.equal(found.length, 1, `one schema for ${method} ${path} ${res.statusCode} at ${microversion}`);
  const body = res.body === '' ? null : res.json();
  const validate = ajv.compile(found[0]!.schema);
  assert.ok(validate(body), `${method} ${path} at ${microversion}: ${ajv.errorsText(validate.errors)}`);
}
