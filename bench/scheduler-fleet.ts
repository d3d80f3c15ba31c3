/**
 * A simulated fleet for the scheduler benchmark: N compute hosts written straight into the database with
 * multi-row inserts (services, compute nodes, resource providers with their storage pools' providers,
 * inventories and usage rows), as N fake compute services would leave it after their first report. Inventories come from the compute host's own
 * report code (`nodeReports`), so whatever resource classes a compute node reports, the fleet has them.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../src/common/config/load-config.ts';
import type { Db } from '../src/common/db/database.ts';
import { now } from '../src/common/db/schema.ts';
import type { StorageTier } from '../src/common/storage-tiers.ts';
import { nodeReports } from '../src/compute/resource-report.ts';
import { poolProviderName } from '../src/placement/providers.ts';
import { copyInventoryLimits } from '../src/placement/usage-limits.ts';
import type { NodeResources } from '../src/compute/virt/driver.ts';

/** Host sizes cycle through these, so the weighers have differences to rank. */
const VCPUS = [16, 32, 48, 64];
const MEMORY_MB = [65536, 131072, 262144];
const LOCAL_GB = [1024, 2048, 4096];
/**
 * One host in DISABLED_EVERY is disabled and one in DOWN_EVERY has not reported for two days: ComputeFilter
 * drops them. Nothing heartbeats during the run, so the benchmark sets service_down_time to a day.
 */
const DISABLED_EVERY = 100;
const DOWN_EVERY = 250;
/**
 * Storage pools cycle through these: one pool of the default tier with the host's local_gb, or that
 * plus an ssd pool, or plus ssd and pcie_ssd pools (sizes in GB).
 */
const POOLS: { tier?: StorageTier; totalGb?: number }[][] = [
  [{}],
  [{}, { tier: 'ssd', totalGb: 960 }],
  [{}, { tier: 'ssd', totalGb: 960 }, { tier: 'pcie_ssd', totalGb: 480 }],
];
/** Bound values per statement, under the limits of every engine (SQLite's 32,766 is the lowest). */
const MAX_BOUND_VALUES = 30_000;

async function insertInChunks<T extends object>(rows: readonly T[], insert: (chunk: T[]) => Promise<unknown>) {
  if (!rows.length) return;
  const perRow = Object.keys(rows[0]!).length;
  const size = Math.max(1, Math.floor(MAX_BOUND_VALUES / perRow));
  for (let i = 0; i < rows.length; i += size) await insert(rows.slice(i, i + size));
}

async function providerIds(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom('resource_providers').select(['id', 'uuid']).execute();
  return new Map(rows.map((p) => [p.uuid, p.id]));
}

export function hostName(i: number): string {
  return `sim-${String(i).padStart(6, '0')}`;
}

/** Writes `count` hosts; returns how many are up and enabled (what ComputeFilter lets through). */
export async function fillFleet(db: Db, config: Config, count: number): Promise<{ usable: number }> {
  const timestamp = now();
  const defaultTier = config.storage.default_tier as StorageTier;
  const longAgo = new Date(Date.now() - 2 * 86400_000).toISOString();
  const services = Array.from({ length: count }, (_, i) => ({
    uuid: randomUUID(),
    host: hostName(i),
    binary: 'stratus-compute',
    topic: 'compute',
    report_count: 1,
    disabled: i % DISABLED_EVERY === DISABLED_EVERY - 1 ? 1 : 0,
    disabled_reason: null,
    forced_down: 0,
    version: 1,
    last_seen_up: i % DOWN_EVERY === DOWN_EVERY - 2 ? longAgo : timestamp,
    created_at: timestamp,
    updated_at: timestamp,
  }));
  await insertInChunks(services, (chunk) => db.insertInto('services').values(chunk).execute());
  const serviceIds = new Map(
    (await db.selectFrom('services').select(['id', 'host']).where('binary', '=', 'stratus-compute').execute()).map(
      (s) => [s.host, s.id],
    ),
  );

  const resources: NodeResources[] = services.map((s, i) => ({
    nodename: s.host,
    hypervisorType: 'fake',
    hypervisorVersion: 1000,
    cpuInfo: '{}',
    vcpus: VCPUS[i % VCPUS.length]!,
    memoryMb: MEMORY_MB[i % MEMORY_MB.length]!,
    localGb: LOCAL_GB[i % LOCAL_GB.length]!,
    hostIp: null,
    supportedInstances: [],
    storagePools: POOLS[i % POOLS.length]!.map((pool) => ({
      tier: pool.tier ?? defaultTier,
      totalGb: pool.totalGb ?? LOCAL_GB[i % LOCAL_GB.length]!,
    })),
  }));
  const reports = nodeReports(config, resources, []);
  const nodeUuids = services.map(() => randomUUID());
  const nodes = reports.map((r, i) => ({
    uuid: nodeUuids[i]!,
    service_id: serviceIds.get(services[i]!.host)!,
    host: services[i]!.host,
    hypervisor_hostname: r.nodename,
    hypervisor_type: r.hypervisor_type,
    hypervisor_version: r.hypervisor_version,
    host_ip: r.host_ip,
    cpu_info: r.cpu_info,
    vcpus: r.vcpus,
    memory_mb: r.memory_mb,
    local_gb: r.local_gb,
    running_vms: 0,
    created_at: timestamp,
    updated_at: timestamp,
    deleted_at: null,
  }));
  await insertInChunks(nodes, (chunk) => db.insertInto('compute_nodes').values(chunk).execute());

  const provider = (uuid: string, name: string) => ({
    uuid,
    name,
    generation: 1,
    created_at: timestamp,
    updated_at: null,
    parent_provider_id: null as number | null,
    storage_tier: null as string | null,
  });
  const roots = reports.map((r, i) => provider(nodeUuids[i]!, r.nodename));
  await insertInChunks(roots, (chunk) => db.insertInto('resource_providers').values(chunk).execute());
  const rootIds = await providerIds(db);
  // Each storage pool a provider under its node's, with the pool's DISK_GB (as setStoragePools writes them).
  const pools = reports.flatMap((r, i) =>
    Object.entries(r.storage_pools).map(([tier, inventory]) => ({
      row: {
        ...provider(randomUUID(), poolProviderName(r.nodename, tier)),
        parent_provider_id: rootIds.get(nodeUuids[i]!)!,
        storage_tier: tier,
      },
      inventory,
    })),
  );
  await insertInChunks(
    pools.map((p) => p.row),
    (chunk) => db.insertInto('resource_providers').values(chunk).execute(),
  );
  const ids = await providerIds(db);

  const inventories = [
    ...reports.flatMap((r, i) =>
      Object.entries(r.inventories).map(([resource_class, inventory]) => ({
        resource_provider_id: ids.get(nodeUuids[i]!)!,
        resource_class,
        ...inventory,
      })),
    ),
    ...pools.map((p) => ({ resource_provider_id: ids.get(p.row.uuid)!, resource_class: 'DISK_GB', ...p.inventory })),
  ];
  await insertInChunks(inventories, (chunk) => db.insertInto('inventories').values(chunk).execute());
  const usages = inventories.map((i) => ({
    resource_provider_id: i.resource_provider_id,
    resource_class: i.resource_class,
    used: 0,
  }));
  await insertInChunks(usages, (chunk) => db.insertInto('resource_usages').values(chunk).execute());
  await copyInventoryLimits(db);
  return { usable: services.filter((s) => s.disabled === 0 && s.last_seen_up === timestamp).length };
}
