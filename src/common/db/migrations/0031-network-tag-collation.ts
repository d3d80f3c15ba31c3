/**
 * Neutron tags match exactly, as server tags do: on MariaDB `network_tags.tag` takes the binary
 * collation, so 'Web' and 'web' are two tags and a filter on one does not find the other (PostgreSQL
 * and SQLite already compare exactly).
 */
import { sql } from 'kysely';
import type { Dialect } from '../connection-url.ts';
import type { MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  if (dialect !== 'mysql') return;
  await sql`alter table network_tags modify tag varchar(255) character set utf8mb4 collate utf8mb4_bin not null`.execute(
    db,
  );
}
