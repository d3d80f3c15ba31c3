/** Column shapes that differ between engines, so migrations read the same for all three. */
import { sql, type CreateTableBuilder, type Kysely } from 'kysely';
import type { Dialect } from '../connection-url.ts';

// Kysely<any> is the migration API's own type: migrations run against the schema as it was then.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MigrationDb = Kysely<any>;

/** An auto-generated integer primary key: serial on PostgreSQL (autoIncrement() breaks there). */
export function withId<T extends string>(table: CreateTableBuilder<T>, dialect: Dialect): CreateTableBuilder<T, 'id'> {
  if (dialect === 'postgres') return table.addColumn('id', 'serial', (c) => c.primaryKey());
  if (dialect === 'mysql') return table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  return table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

/** Text of any length: MariaDB needs TEXT for long values and VARCHAR for indexed ones. */
export const TEXT = sql`text`;
/** A big integer that reads back as a number on every engine (see database.ts). */
export const BIGINT = 'bigint' as const;
export const TS = 'varchar(32)' as const;
