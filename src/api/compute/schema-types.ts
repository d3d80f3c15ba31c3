/**
 * Building blocks of the compute API's body schemas, with Nova's rules (its parameter_types): what a
 * name, a metadata map or a boolean may look like, so every resource validates them the same way.
 */
import { Type, type TSchema, type TUnsafe } from 'typebox';

const NAME_PATTERN = '^(?!\\s)[^\\p{C}\\p{Zl}\\p{Zp}]*(?<!\\s)$';
const DESCRIPTION_PATTERN = '^[^\\p{C}\\p{Zl}\\p{Zp}]*$';
const DIGITS_PATTERN = '^[0-9]+$';
const AZ_NAME_PATTERN = '^(?!\\s)[^\\p{C}\\p{Zl}\\p{Zp}:]*(?<!\\s)$';
const PADDED_NAME_PATTERN = '^[^\\p{C}\\p{Zl}\\p{Zp}]*[^\\s\\p{C}\\p{Zl}\\p{Zp}][^\\p{C}\\p{Zl}\\p{Zp}]*$';

/** What a pattern means, for error messages: a regular expression is no explanation. */
export const PATTERN_REASONS: ReadonlyMap<string, string> = new Map([
  [NAME_PATTERN, 'printable characters. Can not start or end with whitespace.'],
  [DESCRIPTION_PATTERN, 'printable characters only.'],
  [DIGITS_PATTERN, 'must be an integer.'],
  [AZ_NAME_PATTERN, 'printable characters except :. Can not start or end with whitespace.'],
  [PADDED_NAME_PATTERN, 'printable characters with at least one non space character'],
]);

/** Printable characters, not starting or ending with whitespace, 1 to 255 of them. */
export const Name = Type.String({ minLength: 1, maxLength: 255, pattern: NAME_PATTERN });

/** An availability zone's name: as Name, without ':' (which separates zone, host and node). */
export const AzName = Type.String({ minLength: 1, maxLength: 255, pattern: AZ_NAME_PATTERN });

/** A name that may start or end with whitespace (trimmed by the handler), with one other character at least. */
export const PaddedName = Type.String({ minLength: 1, maxLength: 255, pattern: PADDED_NAME_PATTERN });

/** A description: printable text up to `max` characters, or null to clear it. */
export function Description(max = 255): TUnsafe<string | null> {
  return Type.Unsafe<string | null>({
    type: ['string', 'null'],
    minLength: 0,
    maxLength: max,
    pattern: DESCRIPTION_PATTERN,
  });
}

/** Nova's JSON-schema boolean: real booleans or the usual spellings of true and false. */
export const BOOLEAN_STRINGS = [
  'True',
  'TRUE',
  'true',
  '1',
  'ON',
  'On',
  'on',
  'YES',
  'Yes',
  'yes',
  'False',
  'FALSE',
  'false',
  '0',
  'OFF',
  'Off',
  'off',
  'NO',
  'No',
  'no',
] as const;

export const BooleanLike = Type.Unsafe<boolean | string>({
  type: ['boolean', 'string'],
  enum: [true, false, ...BOOLEAN_STRINGS],
});

/** An integer, or a string of digits, at least `minimum` (Nova accepts both for counts and sizes). */
export function IntegerLike(minimum: number, maximum = 0x7fffffff): TUnsafe<number | string> {
  return Type.Unsafe<number | string>({
    type: ['integer', 'string'],
    pattern: DIGITS_PATTERN,
    minimum,
    maximum,
    minLength: 1,
  });
}

export const Uuid = Type.String({ format: 'uuid' });

const METADATA_KEY = '^[a-zA-Z0-9-_:. ]{1,255}$';

/** Server metadata: keys of letters, digits and `-_:. `, string values up to 255 characters. */
export function Metadata(options: { values?: TSchema; minProperties?: number; maxProperties?: number } = {}) {
  return Type.Unsafe<Record<string, string>>({
    type: 'object',
    patternProperties: { [METADATA_KEY]: options.values ?? { type: 'string', maxLength: 255 } },
    additionalProperties: false,
    ...(options.minProperties !== undefined ? { minProperties: options.minProperties } : {}),
    ...(options.maxProperties !== undefined ? { maxProperties: options.maxProperties } : {}),
  });
}

/** Turns a validated integer-or-digits value into a number. */
export function toInt(value: number | string): number {
  return typeof value === 'number' ? value : Number.parseInt(value, 10);
}
