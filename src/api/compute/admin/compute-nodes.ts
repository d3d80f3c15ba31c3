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
}

/** Every node whose compute service still exists (Nova skips the others), oldest first. */
export async function nodesWithUsage(db: Db): Promise<NodeUsage[]> {
  const services = new Map((await listServices(db, { binary: COMPUTE_BINARY })).map((s) => [s.id, s]));
  const nodes = (await listComputeNodes(db)).filter((n) => services.has(n.service_id));
  const usages = await providerUsages(
    db,
    nodes.map((n) => n.uuid),
  );
  const busy = nodes.length
    ? await db
        .selectFrom('instances')
        .select(['host', 'node'])
        .where('deleted', '=', 0)
        .where('task_state', 'is not', null)
        .where('host', 'in', [...new Set(nodes.map((n) => n.host))])
        .execute()
    : [];
  const pools = poolsByNode(usages);
  return nodes.map((node) => {
    const used = usages.get(node.uuid)?.usages ?? {};
    // The disk lives in the node's storage pools (and, for servers older than tiers, on the node itself).
    let diskUsed = used[ResourceClass.DISK_GB] ?? 0;
    for (const pool of pools.get(node.uuid)?.values() ?? []) diskUsed += pool.usage.usages[ResourceClass.DISK_GB] ?? 0;
    return {
      node,
      service: services.get(node.service_id)!,
      vcpusUsed: used[ResourceClass.VCPU] ?? 0,
      memoryMbUsed: used[ResourceClass.MEMORY_MB] ?? 0,
      localGbUsed: diskUsed,
      currentWorkload: busy.filter((b) => b.host === node.host && b.node === node.hypervisor_hostname).length,
    };
  });
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
