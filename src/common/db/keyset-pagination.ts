/**
 * Sorting on several columns and paging past a marker row, as Nova's lists do (oslo.db's paginate_query):
 * the rows after the marker are those greater, in the sort's order, than the marker's values taken as a
 * tuple. The last key must be unique (an id) so that the order is total and no row is skipped or repeated.
 *
 * NULLs sort as the smallest value on every engine (SQLite and MariaDB do so by themselves, PostgreSQL
 * the other way round), so a page boundary falls in the same place whichever engine holds the data.
 */
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';

export type SortDirection = 'asc' | 'desc';

export interface SortKey<C extends string> {
  column: C;
  direction: SortDirection;
  /** Whether the column can hold NULL (only then does the order need a NULL term). */
  nullable: boolean;
}

/** The ORDER BY terms, in order: `[expression, direction]` pairs for Kysely's orderBy. */
export function orderTerms<C extends string>(keys: readonly SortKey<C>[]): [Expression<unknown>, SortDirection][] {
  const terms: [Expression<unknown>, SortDirection][] = [];
  for (const { column, direction, nullable } of keys) {
    // `col IS NULL` is 1 for NULLs: descending puts them first, the smallest, in an ascending sort.
    if (nullable) terms.push([sql`${sql.ref(column)} is null`, direction === 'asc' ? 'desc' : 'asc']);
    terms.push([sql.ref(column), direction]);
  }
  return terms;
}

/**
 * The condition "the row comes after `marker`" for `keys`: for some key i, the keys before i are equal
 * to the marker's and key i is past it in its direction.
 */
export function afterMarker<DB, TB extends keyof DB, C extends string>(
  eb: ExpressionBuilder<DB, TB>,
  keys: readonly SortKey<C>[],
  marker: Readonly<Record<C, unknown>>,
): Expression<SqlBool> {
  const alternatives: Expression<SqlBool>[] = [];
  const equalSoFar: Expression<SqlBool>[] = [];
  for (const { column, direction } of keys) {
    const ref = sql.ref(column);
    const value = marker[column] ?? null;
    const past = pastValue(ref, direction, value);
    if (past) alternatives.push(eb.and([...equalSoFar, past]));
    equalSoFar.push(value === null ? sql<SqlBool>`${ref} is null` : sql<SqlBool>`${ref} = ${value}`);
  }
  return alternatives.length ? eb.or(alternatives) : sql<SqlBool>`1 = 0`;
}

/** Values past `value` in one column's direction, NULL being the smallest; null when there are none. */
function pastValue(ref: Expression<unknown>, direction: SortDirection, value: unknown): Expression<SqlBool> | null {
  if (direction === 'asc') {
    return value === null ? sql<SqlBool>`${ref} is not null` : sql<SqlBool>`${ref} > ${value}`;
  }
  return value === null ? null : sql<SqlBool>`(${ref} < ${value} or ${ref} is null)`;
}
