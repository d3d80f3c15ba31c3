/**
 * The SQL of an image listing: what the caller may see, the filters, the order, and keyset pagination
 * after a marker. Nullable sort columns are sorted through COALESCE so that SQLite, MariaDB and
 * PostgreSQL (which disagree on where NULLs go) return the same order and the same pages.
 */
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import type { Schema } from '../../../common/db/schema.ts';
import { actingProject } from '../access.ts';
import type { CompareOp, ListFilters, ListQuery, Match, SortKey } from '../list-params.ts';
import type { ImageRow } from './rows.ts';

type Eb = ExpressionBuilder<Schema, 'images'>;
type SortValue = string | number;

/** The expression each sort key orders by, and how a row's value maps onto it. */
const SORT_COLUMNS: Record<SortKey, { expr: () => Expression<SortValue>; value: (row: ImageRow) => SortValue }> = {
  name: { expr: () => sql<string>`coalesce(${sql.ref('images.name')}, '')`, value: (r) => r.name ?? '' },
  status: { expr: () => sql<string>`${sql.ref('images.status')}`, value: (r) => r.status },
  container_format: {
    expr: () => sql<string>`coalesce(${sql.ref('images.container_format')}, '')`,
    value: (r) => r.container_format ?? '',
  },
  disk_format: {
    expr: () => sql<string>`coalesce(${sql.ref('images.disk_format')}, '')`,
    value: (r) => r.disk_format ?? '',
  },
  size: { expr: () => sql<number>`coalesce(${sql.ref('images.size')}, -1)`, value: (r) => r.size ?? -1 },
  id: { expr: () => sql<string>`${sql.ref('images.id')}`, value: (r) => r.id },
  created_at: { expr: () => sql<string>`${sql.ref('images.created_at')}`, value: (r) => r.created_at },
  updated_at: {
    expr: () => sql<string>`coalesce(${sql.ref('images.updated_at')}, '')`,
    value: (r) => r.updated_at ?? '',
  },
};

const SQL_OPS: Record<CompareOp, '=' | '<>' | '>' | '>=' | '<' | '<='> = {
  eq: '=',
  neq: '<>',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
};

/** One page of rows; `marker` is the row the page starts after. */
export async function selectImagePage(
  db: Db,
  ctx: RequestContext,
  query: ListQuery,
  marker: ImageRow | null,
): Promise<ImageRow[]> {
  let q = db
    .selectFrom('images')
    .selectAll('images')
    .where('images.deleted_at', 'is', null)
    .where((eb) => visibilityCondition(eb, ctx, query.visibility))
    .where((eb) => eb.and(filterConditions(eb, query.filters)));
  if (marker) q = q.where((eb) => afterMarker(eb, query, marker));
  for (const spec of query.sort) q = q.orderBy(SORT_COLUMNS[spec.key].expr(), spec.dir);
  return q.limit(query.limit).execute();
}

/**
 * Glance's listing rule: a project lists public and community images and its own; with no `visibility`
 * parameter, community images of other projects are left out (they are found by asking for them).
 */
function visibilityCondition(eb: Eb, ctx: RequestContext, visibility: ListQuery['visibility']): Expression<SqlBool> {
  const project = actingProject(ctx);
  const conditions: Expression<SqlBool>[] = [];
  if (!ctx.isAdmin) {
    const seen = [eb('images.visibility', 'in', ['public', 'community'])];
    if (project !== null) seen.push(eb('images.owner', '=', project));
    conditions.push(eb.or(seen));
  }
  if (visibility !== undefined && visibility !== 'all') {
    conditions.push(eb('images.visibility', '=', visibility));
  } else if (visibility === undefined) {
    const notCommunity = [eb('images.visibility', '<>', 'community')];
    if (project !== null) notCommunity.push(eb('images.owner', '=', project));
    conditions.push(eb.or(notCommunity));
  }
  return eb.and(conditions);
}

function matchCondition(
  eb: Eb,
  column:
    'images.id' | 'images.name' | 'images.status' | 'images.owner' | 'images.disk_format' | 'images.container_format',
  match: Match,
): Expression<SqlBool> {
  if (match.op === 'eq') return eb(column, '=', match.value);
  return eb(column, 'in', [...match.values]);
}

function filterConditions(eb: Eb, f: ListFilters): Expression<SqlBool>[] {
  const c: Expression<SqlBool>[] = [eb('images.os_hidden', '=', f.osHidden ? 1 : 0)];
  if (f.id) c.push(matchCondition(eb, 'images.id', f.id));
  if (f.name) c.push(matchCondition(eb, 'images.name', f.name));
  if (f.status) c.push(matchCondition(eb, 'images.status', f.status));
  if (f.owner) c.push(matchCondition(eb, 'images.owner', f.owner));
  if (f.diskFormat) c.push(matchCondition(eb, 'images.disk_format', f.diskFormat));
  if (f.containerFormat) c.push(matchCondition(eb, 'images.container_format', f.containerFormat));
  if (f.protected !== undefined) c.push(eb('images.protected', '=', f.protected ? 1 : 0));
  if (f.sizeMin !== undefined) c.push(eb('images.size', '>=', f.sizeMin));
  if (f.sizeMax !== undefined) c.push(eb('images.size', '<=', f.sizeMax));
  if (f.createdAt) c.push(eb('images.created_at', SQL_OPS[f.createdAt.op], f.createdAt.value));
  if (f.updatedAt) c.push(eb('images.updated_at', SQL_OPS[f.updatedAt.op], f.updatedAt.value));
  for (const tag of f.tags) {
    c.push(
      eb.exists(
        eb
          .selectFrom('image_tags')
          .select('image_tags.id')
          .whereRef('image_tags.image_id', '=', 'images.id')
          .where('image_tags.value', '=', tag),
      ),
    );
  }
  for (const [name, value] of Object.entries(f.properties)) {
    c.push(
      eb.exists(
        eb
          .selectFrom('image_properties')
          .select('image_properties.id')
          .whereRef('image_properties.image_id', '=', 'images.id')
          .where('image_properties.name', '=', name)
          .where('image_properties.value', '=', value),
      ),
    );
  }
  return c;
}

/** Rows strictly after `marker` in the sort order: (k1 > m1) or (k1 = m1 and k2 > m2) or ... */
function afterMarker(eb: Eb, query: ListQuery, marker: ImageRow): Expression<SqlBool> {
  const branches: Expression<SqlBool>[] = [];
  query.sort.forEach((spec, i) => {
    const equalPrefix = query.sort.slice(0, i).map((prev) => {
      const col = SORT_COLUMNS[prev.key];
      return eb(col.expr(), '=', col.value(marker));
    });
    const col = SORT_COLUMNS[spec.key];
    branches.push(eb.and([...equalPrefix, eb(col.expr(), spec.dir === 'asc' ? '>' : '<', col.value(marker))]));
  });
  return eb.or(branches);
}
