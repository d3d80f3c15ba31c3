/**
 * Key pairs (Nova's key_pairs): a user's named public keys (ssh keys or x509 certificates), unique per
 * user and name. Hard-deleted, as Nova's API database deletes them. Instances keep what they were built
 * with: the key's public part and type (Nova's key_data and the instance's keypairs), so the guest can
 * be given the key even after the key pair is deleted, and the admin password the create answered with,
 * for a config drive to hand to the guest.
 */
import { sql } from 'kysely';
import type { Dialect } from '../connection-url.ts';
import { TEXT, TS, withId, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  // Names compare byte for byte on every engine: MariaDB's default collation would make 'K1' and 'k1' the
  // same key pair there and two different ones on SQLite and PostgreSQL.
  const name = dialect === 'mysql' ? sql`varchar(255) character set utf8mb4 collate utf8mb4_bin` : sql`varchar(255)`;
  await withId(db.schema.createTable('key_pairs'), dialect)
    .addColumn('name', name, (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('fingerprint', 'varchar(255)', (c) => c.notNull())
    .addColumn('public_key', TEXT, (c) => c.notNull())
    .addColumn('type', 'varchar(8)', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .addUniqueConstraint('uniq_key_pairs_user_id_name', ['user_id', 'name'])
    .execute();
  await db.schema.alterTable('instances').addColumn('key_data', TEXT).execute();
  await db.schema.alterTable('instances').addColumn('key_type', 'varchar(8)').execute();
  await db.schema.alterTable('instances').addColumn('admin_pass', 'varchar(255)').execute();
}
