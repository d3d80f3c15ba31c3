/**
 * Quota limits, as Nova keeps them: a project's limits (`quotas`), a user's within a project
 * (`project_user_quotas`) and named classes (`quota_classes`; the `default` class overrides the
 * `[quota]` options). Usage is never stored: it is counted from the rows that use it when asked.
 *
 * `quota_project_locks` holds one row per project that has created something quota-counted: a create
 * takes that row's lock before it counts and inserts, so two API processes racing for the last unit
 * of a quota queue there instead of both passing (see objects/quotas.ts). The row carries nothing else.
 */
import type { Dialect } from '../connection-url.ts';
import { TS, withId, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  await withId(db.schema.createTable('quotas'), dialect)
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('resource', 'varchar(255)', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .addUniqueConstraint('quotas_project_resource_uc', ['project_id', 'resource'])
    .execute();
  await withId(db.schema.createTable('project_user_quotas'), dialect)
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('resource', 'varchar(255)', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .addUniqueConstraint('project_user_quotas_uc', ['project_id', 'user_id', 'resource'])
    .execute();
  await withId(db.schema.createTable('quota_classes'), dialect)
    .addColumn('class_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('resource', 'varchar(255)', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .addUniqueConstraint('quota_classes_class_resource_uc', ['class_name', 'resource'])
    .execute();
  await db.schema
    .createTable('quota_project_locks')
    .addColumn('project_id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('locked_at', TS, (c) => c.notNull())
    .execute();
}
