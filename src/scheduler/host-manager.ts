/**
 * Builds the scheduler's view of the fleet: one HostState per compute node, from the compute nodes,
 * their services' heartbeats, the placement inventories and usage, and the hosts' aggregates (which give
 * each host its availability zone and the metadata the aggregate filters read). Besides the hosts, a
 * load keeps what an incremental reload (fleet-changes.ts) needs to find the hosts a changed row belongs to.
 */
import type { Config } from '../common/config/load-config.ts';
import type { Db } from '../common/db/database.ts';
import { aggregatesByHost, zoneOfHost } from '../objects/aggregates.ts';
import { heartbeatRecent, listServices, type ServiceRecord } from '../objects/services.ts';
import {
  listComputeNodes,
  poolsByNode,
  providerUsages,
  type ComputeNodeRecord,
  type PoolUsage,
  type ProviderUsage,
} from '../placement/providers.ts';
import { ResourceClass } from '../placement/resource-classes.ts';
import { fleetFingerprint } from './fleet-fingerprint.ts';
import { HostColumns } from './host-columns.ts';
import type { HostState, StoragePoolState, SupportedInstance } from './host-state.ts';

/** A loaded view: the hosts, and where each row the view was built from went. */
export interface Fleet {
  readonly hosts: HostState[];
  /** What the resource filters and weighers read of the hosts, in typed arrays; patched with them. */
  readonly columns: HostColumns;
  /** When the load started, by this process's clock; rows stamped after it (less a margin) are re-read. */
  readonly loadedAt: number;
  /** When the last full load started (an incremental reload keeps it). */
  readonly fullyLoadedAt: number;
  /** What the rows no incremental reload reads add up to (fleet-fingerprint.ts) when the load started. */
  readonly fingerprint: string;
  /**
   * Each compute service's state by row id, as the view last read it; an incremental reload updates it
   * in place (the previous view is then superseded).
   */
  readonly services: Map<number, ServiceState>;
  /** Per host, at its index in `hosts`: the row id of its compute service (updated in place, as `services`). */
  readonly serviceIds: number[];
  /** Per host: its compute node row's updated_at when read, to tell a row re-read unchanged from a change. */
  readonly nodeStamps: (string | null)[];
  /** Host index by compute node uuid. */
  readonly indexByUuid: ReadonlyMap<string, number>;
  /** By resource provider id: the host it belongs to, and for a storage pool's provider its tier. */
  readonly providers: ReadonlyMap<number, { readonly index: number; readonly tier: string | null }>;
}

/** What the view keeps of a compute service: its heartbeat parsed once, not at every reload. */
export interface ServiceState {
  disabled: boolean;
  forcedDown: boolean;
  /** The last heartbeat, ms since the epoch; NaN when there was none. */
  lastSeenMs: number;
}

export function serviceState(row: Pick<ServiceRecord, 'disabled' | 'forced_down' | 'last_seen_up'>): ServiceState {
  return {
    disabled: row.disabled === 1,
    forcedDown: row.forced_down === 1,
    lastSeenMs: row.last_seen_up === null ? NaN : Date.parse(row.last_seen_up),
  };
}

/** Whether the service counts as up at `now` (isServiceUp, on the parsed state). */
export function serviceUp(service: ServiceState, config: Config, now: number): boolean {
  return !service.forcedDown && heartbeatRecent(service.lastSeenMs, config.DEFAULT.service_down_time, now);
}

/**
 * Reads the whole fleet. `taken` is a fingerprint already taken (by an incremental reload that found it
 * changed) with the time it was taken: it was read before these rows too, so it is not read again.
 */
export async function loadFleet(
  db: Db,
  config: Config,
  taken?: { loadedAt: number; fingerprint: string },
): Promise<Fleet> {
  const loadedAt = taken?.loadedAt ?? Date.now();
  // Before the rows: a change made while they are read then shows in the next reload's fingerprint.
  const fingerprint = taken?.fingerprint ?? (await fleetFingerprint(db));
  const [nodes, services, usages, aggregates] = await Promise.all([
    listComputeNodes(db),
    listServices(db, { binary: 'stratus-compute' }),
    providerUsages(db),
    aggregatesByHost(db),
  ]);
  const serviceById = new Map(services.map((s) => [s.id, serviceState(s)]));
  const pools = poolsByNode(usages);
  const defaultZone = config.DEFAULT.default_availability_zone;
  const now = Date.now();
  // Nodes of one kind report the same JSON text: parse each distinct text once.
  const parsed = new JsonCache();
  const hosts: HostState[] = [];
  const serviceIds: number[] = [];
  const nodeStamps: (string | null)[] = [];
  const indexByUuid = new Map<string, number>();
  const providers = new Map<number, { index: number; tier: string | null }>();
  for (const node of nodes) {
    const service = serviceById.get(node.service_id);
    const usage = usages.get(node.uuid);
    if (!service || !usage) continue;
    const hostAggregates = aggregates.get(node.host) ?? [];
    const nodePools = pools.get(node.uuid);
    const index = hosts.length;
    const reported = reportedFields(node, parsed);
    hosts.push({
      host: node.host,
      nodename: node.hypervisor_hostname,
      uuid: node.uuid,
      availabilityZone: zoneOfHost(hostAggregates, defaultZone),
      serviceUp: serviceUp(service, config, now),
      serviceDisabled: service.disabled,
      hypervisorType: reported.hypervisorType,
      hypervisorVersion: reported.hypervisorVersion,
      hostIp: reported.hostIp,
      cpuInfo: reported.cpuInfo,
      supportedInstances: reported.supportedInstances,
      stats: reported.stats,
      failedBuilds: reported.failedBuilds,
      aggregates: hostAggregates,
      inventories: usage.inventories,
      usages: usagesOf(usage),
      storagePools: poolStates(nodePools),
    });
    serviceIds.push(node.service_id);
    nodeStamps.push(node.updated_at);
    indexByUuid.set(node.uuid, index);
    providers.set(usage.id, { index, tier: null });
    for (const [tier, pool] of nodePools ?? []) providers.set(pool.usage.id, { index, tier });
  }
  return {
    hosts,
    columns: new HostColumns(hosts),
    loadedAt,
    fullyLoadedAt: loadedAt,
    fingerprint,
    services: serviceById,
    serviceIds,
    nodeStamps,
    indexByUuid,
    providers,
  };
}

/** What a host's state takes from what its compute node reports of itself (the compute_nodes row). */
type ReportedFields = Pick<
  HostState,
  'hypervisorType' | 'hypervisorVersion' | 'hostIp' | 'cpuInfo' | 'supportedInstances' | 'stats' | 'failedBuilds'
>;

export function reportedFields(node: ComputeNodeRecord, parsed: JsonCache): ReportedFields {
  const stats = parsed.get<Record<string, string>>(node.stats, {});
  return {
    hypervisorType: node.hypervisor_type,
    hypervisorVersion: node.hypervisor_version,
    hostIp: node.host_ip,
    cpuInfo: node.cpu_info,
    supportedInstances: parsed.get<SupportedInstance[]>(node.supported_instances, []),
    stats,
    failedBuilds: Number(stats['failed_builds'] ?? 0) || 0,
  };
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
export class JsonCache {
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
