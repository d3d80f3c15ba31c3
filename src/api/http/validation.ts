/**
 * JSON-schema validation for request parts. Bodies are checked strictly, as Nova does: a number where a
 * string belongs is an error, not a coercion. Query strings are text by nature, so there types are coerced.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  addFormats(ajv);
  return ajv;
}

const strictAjv = makeAjv(false);
const coercingAjv = makeAjv('array');
const cache = new WeakMap<object, ValidateFunction>();

export const schemaCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strictAjv : coercingAjv;
  const key = schema as object;
  let validate = cache.get(key);
  if (!validate) {
    validate = ajv.compile(schema as object);
    cache.set(key, validate);
  }
  return validate as ReturnType<FastifySchemaCompiler<unknown>>;
};

/** A message in the style of Nova's: names the field, the value and what was wrong. */
export function describeValidationError(errors: readonly ErrorObject[], part: string, data: unknown): string {
  const first = errors[0];
  if (!first) return `Invalid input in ${part}.`;
  const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (first.keyword === 'additionalProperties') {
    const extra = (first.params as { additionalProperty: string }).additionalProperty;
    return `Invalid input for field/attribute ${path || part}. Additional properties are not allowed ('${extra}' was unexpected)`;
  }
  if (first.keyword === 'required') {
    const missing = (first.params as { missingProperty: string }).missingProperty;
    return `Invalid input for field/attribute ${path || part}. '${missing}' is a required property`;
  }
  const value = valueAt(data, first.instancePath);
  return `Invalid input for field/attribute ${path || part}. Value: ${JSON.stringify(value)}. ${first.message ?? 'is invalid'}`;
}

function valueAt(data: unknown, pointer: string): unknown {
  let current = data;
  for (const segment of pointer.split('/').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
