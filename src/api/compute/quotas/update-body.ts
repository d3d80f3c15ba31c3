/**
 * The body of a quota set or quota class update: `{"<key>": {"<resource>": limit, ..., "force": bool}}`.
 * A limit is an integer or a string of digits, from -1 (unlimited) to 2^31-1; a resource the
 * microversion does not show is refused like any unknown key.
 */
import type { Counts, QuotaResource } from '../../../objects/quotas.ts';
import { BooleanLike } from '../schema-types.ts';
import { boolFromString, validateBody } from '../validate.ts';

const LIMIT = { type: 'integer', minimum: -1, maximum: 0x7fffffff };
const LIMIT_TEXT = /^-?[0-9]+$/;

const schemas = new Map<string, object>();

function schemaFor(key: string, resources: readonly QuotaResource[], withForce: boolean): object {
  const id = `${key}|${withForce}|${resources.join(',')}`;
  let schema = schemas.get(id);
  if (!schema) {
    const properties: Record<string, unknown> = Object.fromEntries(resources.map((r) => [r, LIMIT]));
    if (withForce) properties['force'] = BooleanLike;
    schema = {
      type: 'object',
      properties: { [key]: { type: 'object', properties, additionalProperties: false } },
      required: [key],
      additionalProperties: false,
    };
    schemas.set(id, schema);
  }
  return schema;
}

export function parseLimitsBody(
  body: unknown,
  key: 'quota_set' | 'quota_class_set',
  resources: readonly QuotaResource[],
  withForce: boolean,
): { limits: Counts; force: boolean } {
  // Limits may come as strings of digits: read as the numbers they spell before the schema checks
  // them, so "-5" is refused as -5 would be (Nova's schema lets such strings past its minimum).
  const section = (body as Record<string, unknown> | null)?.[key];
  let normalized = body;
  if (section !== null && typeof section === 'object' && !Array.isArray(section)) {
    const values = Object.entries(section as Record<string, unknown>).map(([name, value]) => [
      name,
      name !== 'force' && typeof value === 'string' && LIMIT_TEXT.test(value) ? Number(value) : value,
    ]);
    normalized = { ...(body as object), [key]: Object.fromEntries(values) };
  }
  const parsed = validateBody<Record<string, Record<string, number | boolean | string>>>(
    schemaFor(key, resources, withForce) as never,
    normalized,
  );
  const limits: Counts = {};
  let force = false;
  for (const [name, value] of Object.entries(parsed[key]!)) {
    if (name === 'force') force = boolFromString(value as boolean | string);
    else limits[name as QuotaResource] = value as number;
  }
  return { limits, force };
}
