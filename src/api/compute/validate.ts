/**
 * Request checks shared by the compute routes. Bodies are validated in the handlers rather than by the
 * route schema because Nova's body schemas change with the microversion, which is only known once the
 * request is negotiated. The same strict validator and message format as the route schemas are used, so
 * every 400 reads alike.
 */
import type { ValidateFunction } from 'ajv';
import type { TSchema } from 'typebox';
import { BadRequest } from '../../common/errors.ts';
import { describeValidationError, schemaCompiler } from '../http/validation.ts';
import { PATTERN_REASONS } from './schema-types.ts';

const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    // The shared compiler returns Ajv's validate function; its wider declared type is Fastify's.
    validate = schemaCompiler({ schema, httpPart: 'body', method: 'POST', url: '' }) as unknown as ValidateFunction;
    compiled.set(schema, validate);
  }
  return validate;
}

/** Returns `body` typed by the schema, or throws a 400 naming the first problem. */
export function validateBody<T>(schema: TSchema, body: unknown): T {
  if (body === undefined || body === null) {
    throw new BadRequest('The request body is missing; this request needs a JSON body.');
  }
  const validate = validatorFor(schema);
  if (!validate(body)) {
    const errors = validate.errors ?? [];
    let message = describeValidationError(errors, 'body', body);
    const first = errors[0];
    const reason = first?.keyword === 'pattern' ? PATTERN_REASONS.get(String(first.params['pattern'])) : undefined;
    if (reason) message = message.replace(/must match pattern .*$/, reason);
    throw new BadRequest(message);
  }
  return body as T;
}

/** The action a `POST .../action` body asks for: Nova names it by the body's only key. */
export function actionName(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1) {
    throw new BadRequest('Malformed request body');
  }
  return Object.keys(body)[0]!;
}

export type Query = Record<string, string | string[] | undefined>;

/** Every value given for a query parameter, in order (`?status=A&status=B`). */
export function queryValues(query: Query, name: string): string[] {
  const value = query[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The last value given for a query parameter, as webob's MultiDict answers `req.GET[name]`. */
export function queryValue(query: Query, name: string): string | undefined {
  const values = queryValues(query, name);
  return values[values.length - 1];
}

const TRUE_STRINGS = ['1', 't', 'true', 'on', 'y', 'yes'];
const FALSE_STRINGS = ['0', 'f', 'false', 'off', 'n', 'no'];

/** oslo's bool_from_string: unknown text is false, or an error when `strict`. */
export function boolFromString(value: string | boolean, strict = false, name = 'value'): boolean {
  if (typeof value === 'boolean') return value;
  const text = value.trim().toLowerCase();
  if (TRUE_STRINGS.includes(text)) return true;
  if (!strict || FALSE_STRINGS.includes(text)) return false;
  throw new BadRequest(
    `Invalid input for field/attribute ${name}. Value: ${value}. ` +
      `Unrecognized value '${value}', acceptable values are: ${[...TRUE_STRINGS, ...FALSE_STRINGS].map((s) => `'${s}'`).join(', ')}`,
  );
}

export const UUID_RE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

/** oslo's is_uuid_like: 32 hex digits, dashes optional. */
export function isUuidLike(value: string): boolean {
  return UUID_RE.test(value);
}
