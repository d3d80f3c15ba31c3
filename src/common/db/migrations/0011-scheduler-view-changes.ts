/**
 * What the scheduler's view needs to reload only what changed since its last load: when each usage row
 * last changed (claims and releases stamp it), and indexes to find the usage rows, compute nodes and
 * services (heartbeats) changed after a given time without scanning the fleet. Existing rows have no stamp: they changed
 * before any scheduler running the new code loaded its view, which it then did in full.
 */
import { TS, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema.alterTable('resource_usages').addColumn('updated_at', TS).execute();
  await db.schema.createIndex('resource_usages_updated_at_idx').on('resource_usages').column('updated_at').execute();
  await db.schema.createIndex('compute_nodes_updated_at_idx').on('compute_nodes').column('updated_at').execute();
  await db.schema.createIndex('services_updated_at_idx').on('services').column('updated_at').execute();
}
