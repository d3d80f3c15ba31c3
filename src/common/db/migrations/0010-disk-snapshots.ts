/**
 * Disk snapshots (a Stratus extension): the links of an instance's external qcow2
 * snapshot chain, as the API shows them. The chain itself (which file is which link) is the compute
 * host's, in the guest's guest.json; these rows are what the user named and what state each link is in.
 */
import type { Dialect } from '../connection-url.ts';
import { BIGINT, TS, withId, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  await withId(db.schema.createTable('disk_snapshots'), dialect)
    .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('size', BIGINT)
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .addColumn('deleted_at', TS)
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('disk_snapshots_instance_idx')
    .on('disk_snapshots')
    .columns(['instance_uuid', 'deleted'])
    .execute();
}
