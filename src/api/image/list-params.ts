/**
 * The query string of GET /v2/images, checked and turned into a list query with Glance's rules: limit,
 * marker, both sort syntaxes (`sort_key`/`sort_dir` and `sort=k:dir,...`), the core filters, `tag`
 * (repeatable, all must match), and any other parameter as a filter on a free-form property.
 */
import { BadRequest } from '../../common/errors.ts';
import { VISIBILITIES, type Visibility } from './model.ts';

export const SORT_KEYS = [
  'name',
  'status',
  'container_format',
  'disk_format',
  'size',
  'id',
  'created_at',
  'updated_at',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';
export interface SortSpec {
  readonly key: SortKey;
  readonly dir: SortDir;
}

/** An equality filter, or Glance's `in:a,b,c`. */
export type Match =
  { readonly op: 'eq'; readonly value: string } | { readonly op: 'in'; readonly values: readonly string[] };
export type CompareOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte';
export interface TimeFilter {
  readonly op: CompareOp;
  readonly value: string;
}

export interface ListFilters {
  readonly id?: Match;
  readonly name?: Match;
  readonly status?: Match;
  readonly owner?: Match;
  readonly diskFormat?: Match;
  readonly containerFormat?: Match;
  readonly protected?: boolean;
  readonly osHidden: boolean;
  readonly sizeMin?: number;
  readonly sizeMax?: number;
  readonly createdAt?: TimeFilter;
  readonly updatedAt?: TimeFilter;
  readonly tags: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
}

export interface ListQuery {
  readonly limit: number;
  readonly marker?: string;
  readonly sort: readonly SortSpec[];
  readonly visibility?: Visibility | 'all';
  readonly memberStatus: 'accepted' | 'pending' | 'rejected' | 'all';
  readonly filters: ListFilters;
}

/** Glance's `limit_param_default`. */
export const DEFAULT_LIMIT = 25;

type RawQuery = Record<string, string | string[] | undefined>;

/** Parses the query string; `maxLimit` caps `limit` silently, as Glance's `api_limit_max` does. */
export function parseListQuery(raw: RawQuery, maxLimit: number): ListQuery {
  const params = new Map<string, string[]>();
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    params.set(key, Array.isArray(value) ? value : [value]);
  }
  const take = (key: string): string | undefined => {
    const values = params.get(key);
    params.delete(key);
    return values?.[values.length - 1];
  };
  const takeAll = (key: string): string[] => {
    const values = params.get(key) ?? [];
    params.delete(key);
    return values;
  };

  const limit = parseLimit(take('limit'), maxLimit);
  const marker = take('marker');
  const sort = parseSort(takeAll('sort'), takeAll('sort_key'), takeAll('sort_dir'));
  const visibility = parseVisibility(take('visibility'));
  const memberStatus = parseMemberStatus(take('member_status'));
  if (params.has('changes-since')) throw new BadRequest('The "changes-since" filter is no longer available on v2.');

  const match = (key: string): Match | undefined => {
    const value = take(key);
    return value === undefined ? undefined : parseMatch(value);
  };
  const size = (key: string): number | undefined => {
    const value = take(key);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value))
      throw new BadRequest(`Invalid value for ${key}: ${value}. It must be a non-negative integer.`);
    return Number(value);
  };
  const time = (key: string): TimeFilter | undefined => {
    const value = take(key);
    return value === undefined ? undefined : parseTimeFilter(key, value);
  };

  const filters: ListFilters = {
    id: match('id'),
    name: match('name'),
    status: match('status'),
    owner: match('owner'),
    diskFormat: match('disk_format'),
    containerFormat: match('container_format'),
    protected: parseBoolean('protected', take('protected')),
    osHidden: parseBoolean('os_hidden', take('os_hidden')) ?? false,
    sizeMin: size('size_min'),
    sizeMax: size('size_max'),
    createdAt: time('created_at'),
    updatedAt: time('updated_at'),
    tags: takeAll('tag').map((t) => t.trim()),
    properties: Object.fromEntries([...params].map(([key, values]) => [key, values[values.length - 1] ?? ''])),
  };
  return { limit, marker, sort, visibility, memberStatus, filters };
}

function parseLimit(value: string | undefined, maxLimit: number): number {
  if (value === undefined) return Math.min(DEFAULT_LIMIT, maxLimit);
  if (!/^-?\d+$/.test(value.trim())) throw new BadRequest('limit param must be an integer');
  const limit = Number(value);
  if (limit < 0) throw new BadRequest('limit param must be positive');
  return Math.min(limit, maxLimit);
}

function parseSortKey(key: string): SortKey {
  const k = key.trim();
  if (!(SORT_KEYS as readonly string[]).includes(k)) {
    throw new BadRequest(`Invalid sort key: ${k}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
  }
  return k as SortKey;
}

function parseSortDir(dir: string): SortDir {
  const d = dir.trim();
  if (d !== 'asc' && d !== 'desc') throw new BadRequest(`Invalid sort direction: ${d}`);
  return d;
}

/** Adds Glance's tie-breakers (created_at, then id) so every page boundary is unambiguous. */
function parseSort(sortParams: string[], keys: string[], dirs: string[]): SortSpec[] {
  const specs: SortSpec[] = [];
  let defaultDir: SortDir = 'desc';
  if (sortParams.length > 0) {
    if (keys.length > 0 || dirs.length > 0) throw new BadRequest('Old and new sorting syntax cannot be combined');
    for (const part of sortParams.join(',').split(',')) {
      const [key = '', dir] = part.split(':');
      specs.push({ key: parseSortKey(key), dir: dir === undefined ? 'desc' : parseSortDir(dir) });
    }
  } else {
    const parsedDirs = dirs.map(parseSortDir);
    if (parsedDirs.length > 1 && parsedDirs.length !== keys.length) {
      throw new BadRequest('Number of sort dirs does not match the number of sort keys');
    }
    if (parsedDirs.length === 1) defaultDir = parsedDirs[0] ?? 'desc';
    keys.forEach((key, i) =>
      specs.push({ key: parseSortKey(key), dir: parsedDirs.length > 1 ? (parsedDirs[i] ?? 'desc') : defaultDir }),
    );
  }
  for (const key of ['created_at', 'id'] as const) {
    if (!specs.some((s) => s.key === key)) specs.push({ key, dir: defaultDir });
  }
  return specs;
}

function parseVisibility(value: string | undefined): Visibility | 'all' | undefined {
  if (value === undefined) return undefined;
  if (value === 'all' || (VISIBILITIES as readonly string[]).includes(value)) return value as Visibility | 'all';
  throw new BadRequest(`Invalid visibility value: ${value}`);
}

function parseMemberStatus(value: string | undefined): ListQuery['memberStatus'] {
  if (value === undefined) return 'accepted';
  if (value === 'accepted' || value === 'pending' || value === 'rejected' || value === 'all') return value;
  throw new BadRequest(`Invalid status: ${value}`);
}

function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new BadRequest(`Invalid value '${value}' for '${name}' filter. Valid values are 'true' or 'false'.`);
}

function parseMatch(value: string): Match {
  if (value.startsWith('in:')) {
    const values = value
      .slice(3)
      .split(',')
      .map((v) => v.trim().replace(/^"(.*)"$/, '$1'));
    return { op: 'in', values };
  }
  return { op: 'eq', value };
}

const TIME_OPS: readonly CompareOp[] = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'];

/** `created_at=gte:2026-01-01T00:00:00Z`; a bare time means equality. */
function parseTimeFilter(key: string, value: string): TimeFilter {
  const colon = value.indexOf(':');
  const prefix = colon > 0 ? value.slice(0, colon) : '';
  const op = (TIME_OPS as readonly string[]).includes(prefix) ? (prefix as CompareOp) : 'eq';
  const time = op === 'eq' && prefix !== 'eq' ? value : value.slice(colon + 1);
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new BadRequest(`Invalid value for ${key}: ${value}. Expected [operator:]ISO-8601 time.`);
  return { op, value: new Date(ms).toISOString() };
}
