/**
 * Compute nodes and their resource providers. A compute host reports each of its nodes (through the
 * conductor); the report creates or refreshes the compute_nodes row and replaces the inventories of the
 * resource provider of the same uuid, bumping its generation.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../common/db/database.ts';
import { lockRows } from '../common/db/row-locks.ts';
import { now, type ComputeNodesTable } from '../common/db/schema.ts';
import type { Inventory, NodeReport } from './node-report.ts';

export type { NodeReport } from './node-report.ts';

export type ComputeNodeRecord = Omit<ComputeNodesTable, 'id'> & { id: number };

export async function upsertComputeNode(
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
  await setInventories(db, node.uuid, report.nodename, report.inventories);
  return node;
}

async function ensureProvider(db: Db, uuid: string, name: string): Promise<number> {
  const existing = await db.selectFrom('resource_providers').select('id').where('uuid', '=', uuid).executeTakeFirst();
  if (existing) return existing.id;
  await db
    .insertInto('resource_providers')
    .values({ uuid, name, generation: 0, created_at: now(), updated_at: null })
    .execute();
  return (await db.selectFrom('resource_providers').select('id').where('uuid', '=', uuid).executeTakeFirstOrThrow()).id;
}

/** Replaces the provider's inventories when they changed; a no-op report does not bump the generation. */
export async function setInventories(
  db: Db,
  uuid: string,
  name: string,
  inventories: Record<string, Inventory>,
): Promise<void> {
  const providerId = await ensureProvider(db, uuid, name);
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
  if (unchanged) return;
  await db.transaction().execute(async (trx) => {
    // The claims' lock: an inventory never changes under a claim that is checking against it.
    const usages = await lockRows(
      trx,
      trx.selectFrom('resource_usages').select('resource_class').where('resource_provider_id', '=', providerId),
    ).execute();
    await trx.deleteFrom('inventories').where('resource_provider_id', '=', providerId).execute();
    const rows = Object.entries(inventories).map(([resource_class, inv]) => ({
      resource_provider_id: providerId,
      resource_class,
      ...inv,
    }));
    if (rows.length) await trx.insertInto('inventories').values(rows).execute();
    const counted = new Set(usages.map((u) => u.resource_class));
    const uncounted = rows.filter((r) => !counted.has(r.resource_class));
    if (uncounted.length) {
      await trx
        .insertInto('resource_usages')
        .values(uncounted.map((r) => ({ resource_provider_id: providerId, resource_class: r.resource_class, used: 0 })))
        .execute();
    }
    await trx
      .updateTable('resource_providers')
      .set((eb) => ({ generation: eb('generation', '+', 1), updated_at: now() }))
      .where('id', '=', providerId)
      .execute();
  });
}

export async function listComputeNodes(db: Db): Promise<ComputeNodeRecord[]> {
  return db.selectFrom('compute_nodes').selectAll().where('deleted_at', 'is', null).orderBy('id').execute();
}

export interface ProviderUsage {
  inventories: Record<string, Inventory>;
  usages: Record<string, number>;
  generation: number;
}

/** Inventories and usage of every provider, keyed by provider (= compute node) uuid. */
export async function providerUsages(db: Db, uuids?: readonly string[]): Promise<Map<string, ProviderUsage>> {
  let providers = db.selectFrom('resource_providers').select(['id', 'uuid', 'generation']);
  if (uuids) {
    if (!uuids.length) return new Map();
    providers = providers.where('uuid', 'in', [...uuids]);
  }
  const rows = await providers.execute();
  const byId = new Map(rows.map((r) => [r.id, r.uuid]));
  const result = new Map<string, ProviderUsage>(
    rows.map((r) => [r.uuid, { inventories: {}, usages: {}, generation: r.generation }]),
  );
  const ids = rows.map((r) => r.id);
  if (!ids.length) return result;
  const inventories = await db.selectFrom('inventories').selectAll().where('resource_provider_id', 'in', ids).execute();
  for (const inv of inventories) {
    const usage = result.get(byId.get(inv.resource_provider_id)!)!;
    usage.inventories[inv.resource_class] = {
      total: inv.total,
      reserved: inv.reserved,
      min_unit: inv.min_unit,
      max_unit: inv.max_unit,
      step_size: inv.step_size,
      allocation_ratio: inv.allocation_ratio,
    };
  }
  const used = await db
    .selectFrom('resource_usages')
    .select(['resource_provider_id', 'resource_class', 'used'])
    .where('resource_provider_id', 'in', ids)
    .where('used', '!=', 0)
    .execute();
  for (const row of used) {
    result.get(byId.get(row.resource_provider_id)!)!.usages[row.resource_class] = Number(row.used);
  }
  return result;
}
