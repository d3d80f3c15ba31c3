/**
 * Compute nodes and their resource providers. A compute host reports each of its nodes (through the
 * conductor); the report creates or refreshes the compute_nodes row and replaces the inventories of the
 * resource provider of the same uuid, bumping its generation. Each storage pool of the node is a child
 * provider (placement's nested providers) with the pool's tier recorded on it and one DISK_GB inventory.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../common/db/database.ts';
import { retryOnLockConflict } from '../common/db/lock-conflict.ts';
import { now, type ComputeNodesTable } from '../common/db/schema.ts';
import type { Inventory, NodeReport } from '../wire/messages/node-report.ts';
import { completeUsageRows, lockUsageRows } from './usage-limits.ts';

export type { NodeReport } from '../wire/messages/node-report.ts';

export type ComputeNodeRecord = Omit<ComputeNodesTable, 'id'> & { id: number };

/**
 * Records one node's report. Run again whole when the engine refused it for a lock race: two hosts' first
 * reports at once take MariaDB gap locks on the same empty ranges of the provider and usage indexes and
 * one of them is chosen as a deadlock victim. Every step is idempotent, so a rerun completes what the
 * refused one began; without it the compute host's start-up failed on the victim's error.
 */
export function upsertComputeNode(
  db: Db,
  host: string,
  serviceId: number,
  report: NodeReport,
): Promise<ComputeNodeRecord> {
  return retryOnLockConflict(() => upsertComputeNodeOnce(db, host, serviceId, report));
}

async function upsertComputeNodeOnce(
  db: Db,
  host: string,
  serviceId: number,
  report: NodeReport,
): Promise<ComputeNodeRecord> {
  const timestamp = now();
  const fields = {
    service_id: serviceId,
    hypervisor_type: report.hypervisor_type,
    hypervisor_version: report.hypervisor_version,
    host_ip: report.host_ip,
    cpu_info: report.cpu_info,
    vcpus: report.vcpus,
    memory_mb: report.memory_mb,
    local_gb: report.local_gb,
    running_vms: report.running_vms,
    supported_instances: JSON.stringify(report.supported_instances),
    stats: JSON.stringify(report.stats),
    updated_at: timestamp,
    deleted_at: null,
  };
  let node = await db
    .selectFrom('compute_nodes')
    .selectAll()
    .where('host', '=', host)
    .where('hypervisor_hostname', '=', report.nodename)
    .executeTakeFirst();
  if (node) {
    await db.updateTable('compute_nodes').set(fields).where('id', '=', node.id).execute();
  } else {
    await db
      .insertInto('compute_nodes')
      .values({ ...fields, uuid: randomUUID(), host, hypervisor_hostname: report.nodename, created_at: timestamp })
      .execute();
  }
  node = await db
    .selectFrom('compute_nodes')
    .selectAll()
    .where('host', '=', host)
    .where('hypervisor_hostname', '=', report.nodename)
    .executeTakeFirstOrThrow();
  const rootId = await setInventories(db, node.uuid, report.nodename, report.inventories);
  await setStoragePools(db, rootId, report.nodename, report.storage_pools);
  return node;
}

/**
 * Gives each reported pool its provider (created on first report) and inventory. A pool no longer
 * reported keeps its provider, emptied: what it still holds is released with its instances, and nothing
 * new can be placed there.
 */
async function setStoragePools(
  db: Db,
  rootId: number,
  nodename: string,
  pools: Record<string, Inventory>,
): Promise<void> {
  const existing = await db
    .selectFrom('resource_providers')
    .select(['uuid', 'storage_tier'])
    .where('parent_provider_id', '=', rootId)
    .execute();
  const byTier = new Map(existing.map((p) => [p.storage_tier, p.uuid]));
  for (const [tier, inventory] of Object.entries(pools)) {
    const uuid = byTier.get(tier) ?? randomUUID();
    byTier.delete(tier);
    await setInventories(db, uuid, poolProviderName(nodename, tier), { DISK_GB: inventory }, { rootId, tier });
  }
  for (const [tier, uuid] of byTier) await setInventories(db, uuid, poolProviderName(nodename, tier ?? ''), {});
}

/** Placement-style name of a pool's provider: the node's name and the tier. */
export function poolProviderName(nodename: string, tier: string): string {
  return `${nodename}_${tier}`;
}

async function ensureProvider(
  db: Db,
  uuid: string,
  name: string,
  pool?: { rootId: number; tier: string },
): Promise<number> {
  const existing = await db.selectFrom('resource_providers').select('id').where('uuid', '=', uuid).executeTakeFirst();
  if (existing) return existing.id;
  await db
    .insertInto('resource_providers')
    .values({
      uuid,
      name,
      generation: 0,
      created_at: now(),
      updated_at: null,
      parent_provider_id: pool?.rootId ?? null,
      storage_tier: pool?.tier ?? null,
    })
    .execute();
  return (await db.selectFrom('resource_providers').select('id').where('uuid', '=', uuid).executeTakeFirstOrThrow()).id;
}

/**
 * Replaces the provider's inventories when they changed; a no-op report does not bump the generation.
 * `pool` makes a new provider a storage pool of the node provider `rootId`. Returns the provider's id.
 */
export async function setInventories(
  db: Db,
  uuid: string,
  name: string,
  inventories: Record<string, Inventory>,
  pool?: { rootId: number; tier: string },
): Promise<number> {
  const providerId = await ensureProvider(db, uuid, name, pool);
  const current = await db
    .selectFrom('inventories')
    .selectAll()
    .where('resource_provider_id', '=', providerId)
    .execute();
  const unchanged =
    current.length === Object.keys(inventories).length &&
    current.every((row) => {
      const wanted = inventories[row.resource_class];
      return (
        wanted &&
        wanted.total === row.total &&
        wanted.reserved === row.reserved &&
        wanted.min_unit === row.min_unit &&
        wanted.max_unit === row.max_unit &&
        wanted.step_size === row.step_size &&
        Math.abs(wanted.allocation_ratio - row.allocation_ratio) < 1e-9
      );
    });
  if (unchanged) return providerId;
  await db.transaction().execute(async (trx) => {
    const usages = await lockUsageRows(trx, [providerId]);
    await trx.deleteFrom('inventories').where('resource_provider_id', '=', providerId).execute();
    const rows = Object.entries(inventories).map(([resource_class, inv]) => ({
      resource_provider_id: providerId,
      resource_class,
      ...inv,
    }));
    if (rows.length) await trx.insertInto('inventories').values(rows).execute();
    await completeUsageRows(trx, [providerId], usages);
    await trx
      .updateTable('resource_providers')
      .set((eb) => ({ generation: eb('generation', '+', 1), updated_at: now() }))
      .where('id', '=', providerId)
      .execute();
  });
  return providerId;
}

export async function listComputeNodes(db: Db): Promise<ComputeNodeRecord[]> {
  return db.selectFrom('compute_nodes').selectAll().where('deleted_at', 'is', null).orderBy('id').execute();
}

export interface ProviderUsage {
  /** The provider's row id (usage rows name their provider by it). */
  id: number;
  inventories: Record<string, Inventory>;
  usages: Record<string, number>;
  generation: number;
  /** For a storage pool: its node's provider uuid and its tier. */
  parentUuid: string | null;
  storageTier: string | null;
}

/** A storage pool of a node: its provider and that provider's inventory and usage. */
export interface PoolUsage {
  readonly uuid: string;
  readonly usage: ProviderUsage;
}

/**
 * Inventories and usage of every provider (or of those named, with their storage pools), keyed by
 * provider uuid. Without `uuids` the tables are read whole: an IN list of every provider id cost more to
 * build, send and plan than the rows themselves (the scheduler's view of 100,000 hosts reads this).
 */
export async function providerUsages(db: Db, uuids?: readonly string[]): Promise<Map<string, ProviderUsage>> {
  let providers = db
    .selectFrom('resource_providers as rp')
    .leftJoin('resource_providers as parent', 'parent.id', 'rp.parent_provider_id')
    .select(['rp.id', 'rp.uuid', 'rp.generation', 'rp.storage_tier', 'parent.uuid as parent_uuid']);
  if (uuids) {
    if (!uuids.length) return new Map();
    providers = providers.where((eb) => eb.or([eb('rp.uuid', 'in', [...uuids]), eb('parent.uuid', 'in', [...uuids])]));
  }
  const rows = await providers.execute();
  const byId = new Map<number, ProviderUsage>();
  const result = new Map<string, ProviderUsage>();
  for (const r of rows) {
    const usage: ProviderUsage = {
      id: r.id,
      inventories: {},
      usages: {},
      generation: r.generation,
      parentUuid: r.parent_uuid,
      storageTier: r.storage_tier,
    };
    byId.set(r.id, usage);
    result.set(r.uuid, usage);
  }
  if (!rows.length) return result;
  const ids = uuids ? rows.map((r) => r.id) : null;
  let inventories = db.selectFrom('inventories').selectAll();
  if (ids) inventories = inventories.where('resource_provider_id', 'in', ids);
  for (const inv of await inventories.execute()) {
    const usage = byId.get(inv.resource_provider_id);
    if (!usage) continue; // a provider created after the providers were read
    usage.inventories[inv.resource_class] = {
      total: inv.total,
      reserved: inv.reserved,
      min_unit: inv.min_unit,
      max_unit: inv.max_unit,
      step_size: inv.step_size,
      allocation_ratio: inv.allocation_ratio,
    };
  }
  let used = db
    .selectFrom('resource_usages')
    .select(['resource_provider_id', 'resource_class', 'used'])
    .where('used', '!=', 0);
  if (ids) used = used.where('resource_provider_id', 'in', ids);
  for (const row of await used.execute()) {
    const usage = byId.get(row.resource_provider_id);
    if (usage) usage.usages[row.resource_class] = Number(row.used);
  }
  return result;
}

/** The storage pools of each node in `usages`, by node provider uuid and then by tier. */
export function poolsByNode(usages: ReadonlyMap<string, ProviderUsage>): Map<string, Map<string, PoolUsage>> {
  const result = new Map<string, Map<string, PoolUsage>>();
  for (const [uuid, usage] of usages) {
    if (!usage.parentUuid || !usage.storageTier) continue;
    let pools = result.get(usage.parentUuid);
    if (!pools) result.set(usage.parentUuid, (pools = new Map()));
    pools.set(usage.storageTier, { uuid, usage });
  }
  return result;
}
