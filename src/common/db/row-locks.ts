/**
 * Row locks (SELECT ... FOR UPDATE) where the engine has them. SQLite has none and needs none: it
 * admits one writer at a time, so a write transaction already excludes every other.
 */
import { SqliteAdapter, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Schema } from './schema.ts';

export function lockRows<DB, TB extends keyof DB, O>(
  db: Kysely<Schema>,
  query: SelectQueryBuilder<DB, TB, O>,
): SelectQueryBuilder<DB, TB, O> {
  return db.getExecutor().adapter instanceof SqliteAdapter ? query : query.forUpdate();
}
