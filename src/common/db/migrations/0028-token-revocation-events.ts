/**
 * Token revocation events (Keystone's revocation_event): one row per revocation, user or project deletion
 * or role change, so every api process can drop the validations it cached. Each process polls for rows
 * newer than the last it saw (the primary key) and re-reads a short trailing window by created_at, which
 * catches a row whose auto-increment id committed after a higher one. Rows older than the longest a
 * validation may be cached are purged.
 */
import type { Dialect } from '../connection-url.ts';
import { BIGINT, withId, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  await withId(db.schema.createTable('token_revocation_events'), dialect)
    // 'token' (one token by its hash), 'subject' (user/project/domain scope, each a wildcard when null) or
    // 'domain' (any token touching the domain: its scope, its user's or its project's domain).
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(64)')
    .addColumn('user_id', 'varchar(64)')
    .addColumn('project_id', 'varchar(64)')
    .addColumn('domain_id', 'varchar(64)')
    // Milliseconds since the epoch on the writer's clock.
    .addColumn('created_at', BIGINT, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('token_revocation_events_created_idx')
    .on('token_revocation_events')
    .column('created_at')
    .execute();
}
