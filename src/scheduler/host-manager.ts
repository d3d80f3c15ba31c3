/**
 * Builds the scheduler's view of the fleet: one HostState per compute node, from the compute nodes,
 * their services' heartbeats, the placement inventories and usage, and the hosts' aggregates (which give
 * each host its availability zone and the metadata the aggregate filters read).
 */
import type { Config } from '../common/config/load-config.ts';
import type { Db } from '../common/db/database.ts';
import { aggregatesByHost, zoneOfHost } from '../objects/aggregates.ts';
import { isServiceUp, listServices } from '../objects/services.ts';
import {
  listComputeNodes,
  poolsByNode,
  providerUsages,
  type PoolUsage,
  type ProviderUsage,
} from '../placement/providers.ts';
import { ResourceClass } from '../placement/resource-classes.ts';
import type { HostState, StoragePoolState, SupportedInstance } from './host-state.ts';

export async function loadHostStates(db: Db, config: Config): Promise<HostState[]> {
  const [nodes, services, usages, aggregates] = await Promise.all([
    listComputeNodes(db),
    listServices(db, { binary: 'stratus-compute' }),
    providerUsages(db),
    aggregatesByHost(db),
  ]);
  const serviceById = new Map(services.map((s) => [s.id, s]));
  const pools = poolsByNode(usages);
  const defaultZone = config.DEFAULT.default_availability_zone;
  const now = Date.now();
  // Nodes of one kind report the same JSON text: parse each distinct text once.
  const parsed = new JsonCache();
  const states: HostState[] = [];
  for (const node of nodes) {
    const service = serviceById.get(node.service_id);
    const usage = usages.get(node.uuid);
    if (!service || !usage) continue;
    const hostAggregates = aggregates.get(node.host) ?? [];
    const stats = parsed.get<Record<string, string>>(node.stats, {});
    states.push({
      host: node.host,
      nodename: node.hypervisor_hostname,
      uuid: node.uuid,
      availabilityZone: zoneOfHost(hostAggregates, defaultZone),
      serviceUp: isServiceUp(service, config.DEFAULT.service_down_time, now),
      serviceDisabled: service.disabled === 1,
      hypervisorType: node.hypervisor_type,
      hypervisorVersion: node.hypervisor_version,
      hostIp: node.host_ip,
      cpuInfo: node.cpu_info,
      supportedInstances: parsed.get<SupportedInstance[]>(node.supported_instances, []),
      stats,
      failedBuilds: Number(stats['failed_builds'] ?? 0) || 0,
      aggregates: hostAggregates,
      inventories: usage.inventories,
      usages: usagesOf(usage),
      storagePools: poolStates(pools.get(node.uuid)),
    });
  }
  return states;
}

/** The pools that can take disks: a pool whose inventory was removed (no longer configured) cannot. */
function poolStates(pools: ReadonlyMap<string, PoolUsage> | undefined): Record<string, StoragePoolState> {
  const states: Record<string, StoragePoolState> = {};
  for (const [tier, pool] of pools ?? []) {
    const inventory = pool.usage.inventories[ResourceClass.DISK_GB];
    if (inventory) states[tier] = { uuid: pool.uuid, inventory, used: pool.usage.usages[ResourceClass.DISK_GB] ?? 0 };
  }
  return states;
}

/** JSON columns parsed once per distinct text; null (a node that never reported the column) gives `empty`. */
class JsonCache {
  private readonly values = new Map<string, unknown>();

  get<T>(text: string | null, empty: T): T {
    if (text === null) return empty;
    let value = this.values.get(text);
    if (value === undefined) {
      value = JSON.parse(text) as unknown;
      this.values.set(text, value);
    }
    return value as T;
  }
}

/**
 * The host's usage with a key for every inventory, zeros included, in inventory order: hosts then share
 * one object shape, so the filters' and weighers' reads of it stay fast across 100,000 hosts.
 */
export function usagesOf(usage: ProviderUsage): Record<string, number> {
  const usages: Record<string, number> = {};
  for (const resourceClass of Object.keys(usage.inventories)) usages[resourceClass] = usage.usages[resourceClass] ?? 0;
  for (const [resourceClass, used] of Object.entries(usage.usages)) usages[resourceClass] ??= used;
  return usages;
}
