/**
 * Pieces the area schemas share, as Nova's API reference defines them: links, the `next` link of a
 * paged collection, bodies that are empty, timestamps. Every object schema is strict
 * (additionalProperties false), so a key Nova does not send fails.
 */
import type { ResponseSchema } from './types.ts';

export type Json = Record<string, unknown>;

/** An object with exactly these keys, `required` of them always present. */
export function strictObject(properties: Json, required: readonly string[] = Object.keys(properties)): Json {
  return { type: 'object', properties, required: [...required], additionalProperties: false };
}

/** A map of string keys to values of `value` (metadata, extra specs). */
export function stringMap(value: Json = { type: 'string' }): Json {
  return { type: 'object', additionalProperties: value };
}

/** `self` and `bookmark` links of a resource. */
export const LINKS: Json = {
  type: 'array',
  items: strictObject({ rel: { enum: ['self', 'bookmark'] }, href: { type: 'string', format: 'uri' } }),
};

/** A bookmark link, as embedded resources (a server's image and flavor) carry. */
export const BOOKMARK_LINKS: Json = {
  type: 'array',
  items: strictObject({ rel: { const: 'bookmark' }, href: { type: 'string', format: 'uri' } }),
};

/** `<collection>_links`: the one `next` link of a page that may not be the last. */
export const COLLECTION_LINKS: Json = {
  type: 'array',
  minItems: 1,
  maxItems: 1,
  items: strictObject({ rel: { const: 'next' }, href: { type: 'string', format: 'uri' } }),
};

/** An empty body (202, 204): Nova's response schema says null. */
export const NO_BODY: Json = { type: 'null' };

export const DATE_TIME: Json = { type: 'string', format: 'date-time' };
export const NULLABLE_DATE_TIME: Json = { type: ['string', 'null'], format: 'date-time' };
/** Nova's timestamps without a zone ('2013-09-23T13:53:12.000000'), as oslo's isotime leaves them. */
export const NAIVE_DATE_TIME: Json = {
  type: 'string',
  pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?$',
};
export const NULLABLE_NAIVE_DATE_TIME: Json = { anyOf: [NAIVE_DATE_TIME, { type: 'null' }] };
export const UUID: Json = { type: 'string', format: 'uuid' };

/** A timestamp as Nova's database-backed resources show it, naive or with a zone ('...T13:53:12.000000'). */
export const TIMESTAMP: Json = {
  type: 'string',
  pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)?$',
};
export const NULLABLE_TIMESTAMP: Json = { anyOf: [TIMESTAMP, { type: 'null' }] };

/** The ranges [minVersion, maxVersion] between consecutive `breaks` ('2.1', '2.55' -> 2.1-2.54, 2.55-). */
export function ranges(breaks: readonly string[]): { minVersion: string; maxVersion?: string }[] {
  return breaks.map((min, i) => {
    const next = breaks[i + 1];
    if (!next) return { minVersion: min };
    const [major, minor] = next.split('.').map(Number) as [number, number];
    return { minVersion: min, maxVersion: `${major}.${minor - 1}` };
  });
}

/** True when `version` is `min` or later (both 'X.Y'). */
export function atLeast(version: string, min: string): boolean {
  const [a, b] = version.split('.').map(Number) as [number, number];
  const [c, d] = min.split('.').map(Number) as [number, number];
  return a !== c ? a > c : b >= d;
}

/**
 * One entry per range between consecutive `breaks`, built by `build` with `at(v)` telling whether the
 * range's versions are v or later.
 */
export function byVersion(
  breaks: readonly string[],
  build: (at: (v: string) => boolean) => Omit<ResponseSchema, 'minVersion' | 'maxVersion'>,
): ResponseSchema[] {
  return ranges(breaks).map((range) => ({ ...build((v) => atLeast(range.minVersion, v)), ...range }));
}
