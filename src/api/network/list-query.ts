/**
 * Neutron's list query, for every collection: filters on any attribute (a key given twice matches
 * either value), `fields` to pick attributes, `sort_key`/`sort_dir` (repeatable, in pairs), and paging
 * by `limit`, `marker` (the id of the last item seen) and `page_reverse`, with `<collection>_links`
 * naming the next and previous pages. Applied to the Neutron views the caller may see, so every
 * resource module gets the same behaviour by handing over its views.
 */
import type { FastifyRequest } from 'fastify';
import { HTTPBadRequest } from '../../network/errors.ts';
import { booleanAttr } from './attributes.ts';
import { baseUrl } from './versions.ts';

type View = Record<string, unknown>;
type Query = Record<string, string | string[] | undefined>;

const RESERVED = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse']);

export interface ListOptions {
  collection: string;
  /** Attributes a filter may name beyond the view's own keys (none by default). */
  extraFilters?: Record<string, (view: View, values: string[]) => boolean>;
  /** Raised for a marker that names no item the caller can see. */
  markerNotFound: (id: string) => Error;
  /** Cap on a page (`[DEFAULT] osapi_max_limit`-like); null for none. */
  maxLimit?: number | null;
}

export function valuesOf(query: Query, key: string): string[] {
  const v = query[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The list body: `{<collection>: [...], <collection>_links?: [...]}`. */
export function listResponse(request: FastifyRequest, views: View[], options: ListOptions): Record<string, unknown> {
  const query = (request.query ?? {}) as Query;
  const filtered = views.filter((v) => matchesFilters(v, query, options));
  const sortKeys = valuesOf(query, 'sort_key');
  const sortDirs = valuesOf(query, 'sort_dir');
  if (sortDirs.length > 0 && sortDirs.length !== sortKeys.length) {
    throw new HTTPBadRequest('The number of sort_keys and sort_dirs must be same');
  }
  for (const dir of sortDirs) {
    if (dir !== 'asc' && dir !== 'desc') {
      throw new HTTPBadRequest(`${dir} is invalid value for sort_dir, valid value is 'asc' and 'desc'`);
    }
  }
  const sample = views[0];
  for (const key of sortKeys) {
    if (sample && !Object.hasOwn(sample, key)) throw new HTTPBadRequest(`${key} is an invalid attribute for sort_keys`);
  }
  const pageReverse = parsePageReverse(valuesOf(query, 'page_reverse')[0]);
  // Neutron appends id so equal keys still have one order: a marker then means one position.
  const order = [...sortKeys.map((key, i) => ({ key, desc: sortDirs[i] === 'desc' })), { key: 'id', desc: false }];
  const sorted = [...filtered].sort((a, b) => compareBy(a, b, order) * (pageReverse ? -1 : 1));

  const limit = parseLimit(valuesOf(query, 'limit')[0], options.maxLimit ?? null);
  const marker = valuesOf(query, 'marker')[0];
  let start = 0;
  if (marker !== undefined) {
    const at = sorted.findIndex((v) => v['id'] === marker);
    if (at < 0) throw options.markerNotFound(marker);
    start = at + 1;
  }
  let page = limit === null ? sorted.slice(start) : sorted.slice(start, start + limit);
  const more = limit !== null && start + limit < sorted.length;
  if (pageReverse) page = page.reverse();

  const fields = valuesOf(query, 'fields').flatMap((f) => f.split(','));
  const shown = fields.length > 0 ? page.map((v) => pick(v, fields)) : page;
  const body: Record<string, unknown> = { [options.collection]: shown };
  if (limit !== null || marker !== undefined) {
    body[`${options.collection}_links`] = pageLinks(request, options.collection, page, {
      limit,
      more,
      hadMarker: marker !== undefined,
      pageReverse,
    });
  }
  return body;
}

/** `fields` on a single resource (GET /v2.0/networks/{id}?fields=name). */
export function showFields(request: FastifyRequest, view: View): View {
  const fields = valuesOf((request.query ?? {}) as Query, 'fields').flatMap((f) => f.split(','));
  return fields.length > 0 ? pick(view, fields) : view;
}

function pick(view: View, fields: string[]): View {
  return Object.fromEntries(fields.filter((f) => Object.hasOwn(view, f)).map((f) => [f, view[f]]));
}

function matchesFilters(view: View, query: Query, options: ListOptions): boolean {
  for (const key of Object.keys(query)) {
    if (RESERVED.has(key)) continue;
    const values = valuesOf(query, key);
    // Own keys only: a filter named __proto__ or constructor is an unknown attribute, not a prototype's.
    const extra = options.extraFilters && Object.hasOwn(options.extraFilters, key) ? options.extraFilters[key] : null;
    if (extra) {
      if (!extra(view, values)) return false;
      continue;
    }
    if (!Object.hasOwn(view, key)) throw new HTTPBadRequest(`${key} is invalid attribute for filtering`);
    if (!values.some((value) => matchesValue(view[key], value))) return false;
  }
  return true;
}

function matchesValue(actual: unknown, wanted: string): boolean {
  if (typeof actual === 'boolean') {
    const converted = booleanAttr(wanted);
    return converted.ok && converted.value === actual;
  }
  if (actual === null) return wanted === '' || wanted.toLowerCase() === 'none' || wanted.toLowerCase() === 'null';
  if (Array.isArray(actual)) return actual.some((item) => typeof item !== 'object' && String(item) === wanted);
  if (typeof actual === 'object') return false;
  return String(actual) === wanted;
}

function parsePageReverse(value: string | undefined): boolean {
  if (value === undefined) return false;
  const converted = booleanAttr(value);
  if (!converted.ok) throw new HTTPBadRequest(`Invalid input for page_reverse. Reason: ${converted.reason}.`);
  return converted.value as boolean;
}

function parseLimit(value: string | undefined, max: number | null): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value)) throw new HTTPBadRequest(`Limit must be an integer 0 or greater and not '${value}'`);
  const n = Number(value);
  // 0 asks for everything, as in Neutron.
  if (n === 0) return max;
  return max === null ? n : Math.min(n, max);
}

function compareBy(a: View, b: View, order: { key: string; desc: boolean }[]): number {
  for (const { key, desc } of order) {
    const c = compareValues(a[key], b[key]);
    if (c !== 0) return desc ? -c : c;
  }
  return 0;
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const [x, y] = [String(a), String(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

function pageLinks(
  request: FastifyRequest,
  collection: string,
  page: View[],
  state: { limit: number | null; more: boolean; hadMarker: boolean; pageReverse: boolean },
): { href: string; rel: string }[] {
  const links: { href: string; rel: string }[] = [];
  const base = `${baseUrl(request)}${request.url.split('?')[0]}`;
  const href = (marker: string, reverse: boolean) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries((request.query ?? {}) as Query)) {
      if (k === 'marker' || k === 'page_reverse' || k === 'limit') continue;
      for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) params.append(k, one);
    }
    if (state.limit !== null) params.set('limit', String(state.limit));
    params.set('marker', marker);
    if (reverse) params.set('page_reverse', 'True');
    return `${base}?${params.toString()}`;
  };
  const first = page[0]?.['id'];
  const last = page.at(-1)?.['id'];
  // With page_reverse the page was read backwards: "next" continues backwards from its first item.
  const forward = state.pageReverse ? first : last;
  const backward = state.pageReverse ? last : first;
  if (state.more && typeof forward === 'string') links.push({ href: href(forward, state.pageReverse), rel: 'next' });
  if (state.hadMarker && typeof backward === 'string') {
    links.push({ href: href(backward, !state.pageReverse), rel: 'previous' });
  }
  return links;
}
