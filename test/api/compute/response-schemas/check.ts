/**
 * Checks a response against the strict schema of its route, status and microversion (response-schemas/),
 * so a test fails on any key Nova would not send, or a missing one.
 */
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ResponseSchema } from './types.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));

function version(text: string): [number, number] {
  const [major, minor] = text.split('.').map(Number) as [number, number];
  return [major, minor];
}

function inRange(schema: ResponseSchema, at: string): boolean {
  const [major, minor] = version(at);
  const cmp = (other: string) => {
    const [m, n] = version(other);
    return major !== m ? major - m : minor - n;
  };
  return (!schema.minVersion || cmp(schema.minVersion) >= 0) && (!schema.maxVersion || cmp(schema.maxVersion) <= 0);
}

export function assertResponseSchema(
  schemas: readonly ResponseSchema[],
  method: ResponseSchema['method'],
  path: string,
  at: string,
  res: LightMyRequestResponse,
): void {
  const matching = schemas.filter(
    (s) => s.method === method && s.path === path && s.status === res.statusCode && inRange(s, at),
  );
  assert.equal(matching.length, 1, `one schema for ${method} ${path} ${res.statusCode} at ${at}`);
  const body = res.body === '' ? null : (JSON.parse(res.body) as unknown);
  const validate = ajv.compile(matching[0]!.schema);
  assert.ok(validate(body), `${method} ${path} at ${at}: ${ajv.errorsText(validate.errors)}\n${res.body}`);
}
