/**
 * Server lifecycle state Nova keeps and Stratus lacked: who locked a server and why (Nova's
 * `instances.locked_by` and the `locked_reason` it keeps in system metadata), the encrypted password the
 * guest posts to the metadata service (Nova's four `password_N` system metadata items, one column here),
 * and server tags (Nova's `tags` table: one row per tag, the pair unique).
 */
import { sql } from 'kysely';
import type { Dialect } from '../connection-url.ts';
import { TEXT, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  await db.schema.alterTable('instances').addColumn('locked_by', 'varchar(16)').execute();
  await db.schema.alterTable('instances').addColumn('locked_reason', 'varchar(255)').execute();
  await db.schema.alterTable('instances').addColumn('server_password', TEXT).execute();
  await db.schema
    .createTable('instance_tags')
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
    // Tags match exactly, as they do on PostgreSQL and SQLite: MariaDB's default collation would make
    // 'Web' and 'web' one tag and let a filter on one find the other.
    .addColumn('tag', 'varchar(60)', (c) =>
      dialect === 'mysql' ? c.notNull().modifyFront(sql`character set utf8mb4 collate utf8mb4_bin`) : c.notNull(),
    )
    .addPrimaryKeyConstraint('instance_tags_pkey', ['instance_uuid', 'tag'])
    .execute();
  // The list filters look servers up by tag.
  await db.schema.createIndex('instance_tags_tag_idx').on('instance_tags').column('tag').execute();
}
