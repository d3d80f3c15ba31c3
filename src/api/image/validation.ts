/**
 * Checks of what a caller may write into an image, shared by create and PATCH, in Glance's order:
 * computed attributes are refused with 403 (read-only), Glance's own names with 403 (reserved), then
 * values are checked against the published schema (400), then the property and tag quotas (413).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BadRequest, Forbidden } from '../../common/errors.ts';
import { RequestEntityTooLarge } from './errors.ts';
import {
  MAX_PROPERTIES,
  MAX_STRING,
  MAX_TAGS,
  READ_ONLY_ATTRIBUTES,
  RESERVED_ATTRIBUTES,
  RESERVED_PREFIX,
} from './model.ts';
import { IMAGE_PROPERTIES } from './schema-doc.ts';

const ajv = new Ajv({ allErrors: false, strict: false });
const validateImage: ValidateFunction = ajv.compile({
  type: 'object',
  properties: IMAGE_PROPERTIES,
  // Glance keeps a property's value in 255 characters, as its other strings.
  additionalProperties: { type: 'string', maxLength: MAX_STRING },
});

/**
 * Names no image may have: a property named `__proto__` cannot be kept as the others are (on a plain
 * object it sets the prototype instead), and was silently dropped.
 */
const UNUSABLE_NAMES = new Set(['__proto__']);

/** Refuses names a caller may not set: computed attributes, Glance's reserved names, over-long keys. */
export function checkWritableName(name: string): void {
  if (READ_ONLY_ATTRIBUTES.has(name)) throw new Forbidden(`Attribute '${name}' is read-only.`);
  if (RESERVED_ATTRIBUTES.has(name) || name.startsWith(RESERVED_PREFIX)) {
    throw new Forbidden(`Attribute '${name}' is reserved.`);
  }
  if (name.length > MAX_STRING)
    throw new BadRequest(`Custom property should not be greater than ${MAX_STRING} characters.`);
  if (name === '') throw new BadRequest('Property names cannot be empty.');
  if (UNUSABLE_NAMES.has(name)) throw new BadRequest(`Property name '${name}' is not allowed.`);
}

/**
 * Refuses a tag that is empty, only blanks or holds a NUL (which PostgreSQL cannot store, and no client
 * can show): Glance's schema only bounds the length, yet such a tag could never be named again.
 */
export function checkTag(tag: string): void {
  if (tag.length > MAX_STRING) throw new BadRequest(`Tags may be at most ${MAX_STRING} characters long.`);
  if (tag.trim() === '') throw new BadRequest('Tags may not be empty or blank.');
  if (tag.includes('\u0000')) throw new BadRequest('Tags may not contain NUL characters.');
}

/** Validates (part of) an image body against the image schema. */
export function checkAgainstSchema(body: Record<string, unknown>): void {
  if (validateImage(body)) {
    if (Array.isArray(body['tags'])) for (const tag of body['tags'] as string[]) checkTag(tag);
    return;
  }
  const first = validateImage.errors?.[0];
  throw new BadRequest(`Provided object does not match schema 'image': ${first ? describe(first, body) : 'invalid'}`);
}

export function checkQuotas(propertyCount: number, tagCount: number): void {
  if (propertyCount > MAX_PROPERTIES) {
    throw new RequestEntityTooLarge(
      `Maximum number of properties exceeded: ${propertyCount} of at most ${MAX_PROPERTIES}.`,
    );
  }
  if (tagCount > MAX_TAGS)
    throw new RequestEntityTooLarge(`Maximum number of tags exceeded: ${tagCount} of at most ${MAX_TAGS}.`);
}

function describe(error: ErrorObject, body: Record<string, unknown>): string {
  const segments = error.instancePath.split('/').slice(1);
  let value: unknown = body;
  for (const s of segments)
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[s] : undefined;
  const field = segments.join('.') || 'body';
  const shown = JSON.stringify(value);
  switch (error.keyword) {
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues
        .map((v) => JSON.stringify(v))
        .join(', ');
      return `${shown} is not one of [${allowed}] (field '${field}')`;
    }
    case 'type':
      return `${shown} is not of type '${String((error.params as { type: unknown }).type)}' (field '${field}')`;
    case 'maxLength':
      return `${shown} is too long (field '${field}', at most ${String((error.params as { limit: number }).limit)} characters)`;
    case 'pattern':
      return `${shown} does not match '${String((error.params as { pattern: string }).pattern)}' (field '${field}')`;
    case 'minimum':
    case 'maximum':
      return `${shown} is out of range (field '${field}': ${error.message ?? ''})`;
    default:
      return `${shown} is invalid (field '${field}': ${error.message ?? ''})`;
  }
}
