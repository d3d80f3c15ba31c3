/**
 * Compute nodes as the admin APIs see them: each node with its service and its true usage, read from
 * the placement allocations (what is claimed) rather than from what the host last reported; its disk
 * usage sums its storage pools.
 */
import type { Db } from '../../../common/db/database.ts';
import { now } from '../../../common/db/schema.ts';
import { ResourceClass } from '../../../placement/resource-classes.ts';
import { listComputeNodes, poolsByNode, providerUsages, type ComputeNodeRecord } from '../../../placement/providers.ts';
import type { ServiceRecord } from '../../../objects/services.ts';
import { listServices } from '../../../objects/services.ts';
import { COMPUTE_BINARY } from '../servers/host-state.ts';

export interface NodeUsage {
  node: ComputeNodeRecord;
  service: ServiceRecord;
  vcpusUsed: number;
  memoryMbUsed: number;
  localGbUsed: number;
  /** Servers on the node with an operation under way (Nova's current_workload). */
  currentWorkload: number;
  /** Servers assigned to the node (Nova's running_vms, which counts them whatever their power state). */
  runningVms: number;
  /** The node's storage pools as placement holds them: the tier's DISK_GB inventory and its usage. */
  pools: StoragePoolUsage[];
}

export interface StoragePoolUsage {
  tier: string;
  /** Schedulable GiB: (total - reserved) * allocation_ratio, as placement counts capacity. */
  capacityGb: number;
  usedGb: number;
}

/** Every node whose compute service still exists (Nova skips the others), oldest first. */
export async function nodesWithUsage(db: Db): Promise<NodeUsage[]> {
  const services = new Map((await listServices(db, { binary: COMPUTE_BINARY })).map((s) => [s.id, s]));
  const nodes = (await listComputeNodes(db)).filter((n) => services.has(n.service_id));
  const usages = await providerUsages(
    db,
    nodes.map((n) => n.uuid),
  );
  const counts = await instanceCountsByNode(db, [...new Set(nodes.map((n) => n.host))]);
  const pools = poolsByNode(usages);
  return nodes.map((node) => {
    const provider = usages.get(node.uuid);
    const used = provider?.usages ?? {};
    // The disk lives in the node's storage pools (and, for servers older than tiers, on the node itself).
    let diskUsed = used[ResourceClass.DISK_GB] ?? 0;
    const nodePools: StoragePoolUsage[] = [];
    for (const [tier, pool] of pools.get(node.uuid) ?? []) {
      const poolUsed = pool.usage.usages[ResourceClass.DISK_GB] ?? 0;
      const inventory = pool.usage.inventories[ResourceClass.DISK_GB];
      const capacityGb = inventory
        ? Math.floor((inventory.total - inventory.reserved) * inventory.allocation_ratio)
        : 0;
      nodePools.push({ tier, capacityGb, usedGb: poolUsed });
      diskUsed += poolUsed;
    }
    nodePools.sort((a, b) => a.tier.localeCompare(b.tier));
    const count = counts.get(`${node.host}\u0000${node.hypervisor_hostname}`);
    return {
      node,
      service: services.get(node.service_id)!,
      vcpusUsed: used[ResourceClass.VCPU] ?? 0,
      // Nova's resource tracker starts memory_mb_used at the host's reserved memory, then adds the guests'.
      memoryMbUsed:
        (used[ResourceClass.MEMORY_MB] ?? 0) + (provider?.inventories[ResourceClass.MEMORY_MB]?.reserved ?? 0),
      localGbUsed: diskUsed,
      currentWorkload: count?.busy ?? 0,
      runningVms: count?.instances ?? 0,
      pools: nodePools,
    };
  });
}

/**
 * Per node (`host\0node`), the instances assigned to it and those with a task under way. As Nova's
 * resource tracker counts `running_vms`: every instance on the node that still holds its resources,
 * whatever its power state (a shelved-offloaded one holds none).
 */
async function instanceCountsByNode(
  db: Db,
  hosts: readonly string[],
): Promise<Map<string, { instances: number; busy: number }>> {
  const result = new Map<string, { instances: number; busy: number }>();
  if (!hosts.length) return result;
  const rows = await db
    .selectFrom('instances')
    .select((eb) => [
      'host',
      'node',
      eb.fn.countAll<number | string>().as('instances'),
      eb.fn.count<number | string>('task_state').as('busy'),
    ])
    .where('deleted', '=', 0)
    .where('vm_state', 'not in', ['deleted', 'shelved_offloaded'])
    .where('host', 'in', [...hosts])
    .groupBy(['host', 'node'])
    .execute();
  for (const row of rows) {
    result.set(`${row.host}\u0000${row.node}`, { instances: Number(row.instances), busy: Number(row.busy) });
  }
  return result;
}

/**
 * Deleting a compute service takes its nodes with it: their resource providers and storage pools (and
 * so their inventories, usages and any allocations left) go, and the node rows are marked deleted, as Nova does.
 */
export async function deleteComputeNodesOf(db: Db, host: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const nodes = await trx
      .selectFrom('compute_nodes')
      .select(['id', 'uuid'])
      .where('host', '=', host)
      .where('deleted_at', 'is', null)
      .execute();
    if (!nodes.length) return;
    const providers = await trx
      .selectFrom('resource_providers')
      .select('id')
      .where(
        'uuid',
        'in',
        nodes.map((n) => n.uuid),
      )
      .execute();
    const nodeIds = providers.map((p) => p.id);
    // The nodes' storage pools go with them.
    const pools = nodeIds.length
      ? await trx.selectFrom('resource_providers').select('id').where('parent_provider_id', 'in', nodeIds).execute()
      : [];
    const ids = [...nodeIds, ...pools.map((p) => p.id)];
    if (ids.length) {
      await trx.deleteFrom('resource_usages').where('resource_provider_id', 'in', ids).execute();
      await trx.deleteFrom('allocations').where('resource_provider_id', 'in', ids).execute();
      await trx.deleteFrom('inventories').where('resource_provider_id', 'in', ids).execute();
      await trx.deleteFrom('resource_providers').where('id', 'in', ids).execute();
    }
    await trx
      .updateTable('compute_nodes')
      .set({ deleted_at: now() })
      .where(
        'id',
        'in',
        nodes.map((n) => n.id),
      )
      .execute();
  });
}
