/** Which consumer (instance or migration) holds VCPU on which host: what the allocations say, for move tests. */
import type { Database } from '../../src/common/db/database.ts';
import type { TestCloud } from './in-process-cloud.ts';

export async function vcpuHolders(cloud: Pick<TestCloud, 'database'>): Promise<Map<string, string>> {
  const rows = await cloud.database.db
    .selectFrom('allocations as a')
    .innerJoin('resource_providers as p', 'p.id', 'a.resource_provider_id')
    .innerJoin('compute_nodes as n', 'n.uuid', 'p.uuid')
    .select(['a.consumer_id', 'n.host'])
    .where('a.resource_class', '=', 'VCPU')
    .execute();
  return new Map(rows.map((r) => [r.consumer_id, r.host]));
}

/** The consumers holding anything on `host`'s nodes (a drained host holds none once its moves are done). */
export async function consumersOnHost(database: Database, host: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom('allocations as a')
    .innerJoin('resource_providers as p', 'p.id', 'a.resource_provider_id')
    .innerJoin('compute_nodes as n', 'n.uuid', 'p.uuid')
    .select('a.consumer_id')
    .where('n.host', '=', host)
    .execute();
  return [...new Set(rows.map((r) => r.consumer_id))];
}
