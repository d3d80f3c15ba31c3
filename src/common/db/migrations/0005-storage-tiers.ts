/**
 * Storage tiers. Each storage pool of a compute node is a resource provider of its own, a child of the
 * node's provider, holding the pool's DISK_GB inventory (placement's nested providers); the pool's tier
 * is recorded on it. Each instance records the tier its disk lives in.
 */
import type { MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema.alterTable('resource_providers').addColumn('parent_provider_id', 'integer').execute();
  await db.schema.alterTable('resource_providers').addColumn('storage_tier', 'varchar(32)').execute();
  await db.schema
    .createIndex('resource_providers_parent_idx')
    .on('resource_providers')
    .columns(['parent_provider_id', 'storage_tier'])
    .execute();
  await db.schema.alterTable('instances').addColumn('storage_tier', 'varchar(32)').execute();
}
