/** Which consumer (instance or migration) holds VCPU on which host: what the allocations say, for move tests. */
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
