/**
 * Host aggregates (with their hosts and metadata, where availability zones live) and server groups (with
 * their members), as Nova's API database has them. Aggregates are deleted outright, so a plain unique
 * name is enough; a group's rules are JSON text (`{"max_server_per_host": 2}`).
 */
import { TEXT, TS, withId, type MigrationDb } from './column-helpers.ts';
import type { Dialect } from '../connection-url.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  const table = (name: string) => db.schema.createTable(name);

  await withId(table('aggregates'), dialect)
    .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .execute();

  await withId(table('aggregate_hosts'), dialect)
    .addColumn('aggregate_id', 'integer', (c) => c.notNull())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addUniqueConstraint('uniq_aggregate_hosts', ['aggregate_id', 'host'])
    .execute();
  await db.schema.createIndex('aggregate_hosts_host_idx').on('aggregate_hosts').column('host').execute();

  await withId(table('aggregate_metadata'), dialect)
    .addColumn('aggregate_id', 'integer', (c) => c.notNull())
    .addColumn('key', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', 'varchar(255)', (c) => c.notNull())
    .addUniqueConstraint('uniq_aggregate_metadata', ['aggregate_id', 'key'])
    .execute();
  await db.schema.createIndex('aggregate_metadata_key_idx').on('aggregate_metadata').column('key').execute();

  await withId(table('instance_groups'), dialect)
    .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('policy', 'varchar(64)', (c) => c.notNull())
    .addColumn('rules', TEXT, (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .execute();
  await db.schema.createIndex('instance_groups_project_idx').on('instance_groups').column('project_id').execute();

  // An instance is in one group at most, as in Nova: the unique key doubles as the lookup by instance.
  await withId(table('instance_group_members'), dialect)
    .addColumn('group_id', 'integer', (c) => c.notNull())
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('created_at', TS, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('instance_group_members_group_idx')
    .on('instance_group_members')
    .column('group_id')
    .execute();
}
