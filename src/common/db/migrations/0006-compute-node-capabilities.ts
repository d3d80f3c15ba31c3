/**
 * What a compute node reports besides its resources, for the scheduler's filters and weighers (Nova keeps
 * both on compute_nodes): `supported_instances`, the [architecture, hypervisor type, vm mode] triples the
 * node can run (ImagePropertiesFilter), and `stats`, the node's counters such as `failed_builds`
 * (BuildFailureWeigher). Both JSON text; null on nodes that have not reported since the upgrade.
 */
import type { MigrationDb } from './column-helpers.ts';
import { TEXT } from './column-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema.alterTable('compute_nodes').addColumn('supported_instances', TEXT).execute();
  await db.schema.alterTable('compute_nodes').addColumn('stats', TEXT).execute();
}
