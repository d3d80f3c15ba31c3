/**
 * `migrations`: Nova's table of the same name, one row per move of a server between hosts (resize, cold
 * migration; later live migration and evacuation). Its uuid is also the placement consumer that holds the
 * source host's resources while the move is under way, as Nova's migration-based allocations do. Beside
 * Nova's columns, `old_flavor` and `new_flavor` keep the two flavors as JSON (Nova keeps them in
 * instance_extra), so a revert restores the old one even if the flavor was deleted meanwhile.
 */
import type { Dialect } from '../connection-url.ts';
import { TEXT, TS, withId, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  await withId(db.schema.createTable('migrations'), dialect)
    .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('migration_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('source_compute', 'varchar(255)')
    .addColumn('source_node', 'varchar(255)')
    .addColumn('dest_compute', 'varchar(255)')
    .addColumn('dest_node', 'varchar(255)')
    .addColumn('dest_host', 'varchar(255)')
    .addColumn('old_instance_type_id', 'integer')
    .addColumn('new_instance_type_id', 'integer')
    .addColumn('old_flavor', TEXT, (c) => c.notNull())
    .addColumn('new_flavor', TEXT, (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)')
    .addColumn('project_id', 'varchar(255)')
    .addColumn('hidden', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .execute();
  await db.schema
    .createIndex('migrations_instance_idx')
    .on('migrations')
    .columns(['instance_uuid', 'status'])
    .execute();
  await db.schema.createIndex('migrations_created_idx').on('migrations').columns(['created_at', 'id']).execute();
}
