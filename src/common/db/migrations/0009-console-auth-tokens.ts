/**
 * Console tokens (Nova's console_auth_tokens): what a console URL's token grants — a connection to one
 * instance's console at one compute host address — until it expires or is used. Only the token's
 * SHA-256 is kept, so a database reader cannot open consoles.
 */
import type { Dialect } from '../connection-url.ts';
import { TS, withId, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  await withId(db.schema.createTable('console_auth_tokens'), dialect)
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('console_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('access_url_base', 'varchar(255)', (c) => c.notNull())
    .addColumn('expires', TS, (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('console_auth_tokens_instance_idx')
    .on('console_auth_tokens')
    .column('instance_uuid')
    .execute();
  await db.schema.createIndex('console_auth_tokens_expires_idx').on('console_auth_tokens').column('expires').execute();
}
