/**
 * What the scheduler knows of one compute node while it decides: capacity from the inventories, usage
 * from the allocations, the node's service state, what it reported of itself (supported guest kinds,
 * stats) and the aggregates its host is in. Filters and weighers read it; a selection updates it at once
 * (Nova's consume_from_instance) so several instances of one request spread correctly.
 */
import type { HostAggregate } from '../objects/aggregates.ts';
import type { Inventory } from '../placement/resource-classes.ts';
import { capacity, ResourceClass } from '../placement/resource-classes.ts';

/** [architecture, hypervisor type, vm mode], as the node reports them. */
export type SupportedInstance = readonly [string, string, string];

/**
 * Identity, zone, aggregates and inventories change only with a full reload of the view; the rest is
 * patched in place by an incremental one (fleet-changes.ts) and, for usage, by each placement.
 */
export interface HostState {
  readonly host: string;
  readonly nodename: string;
  readonly uuid: string;
  /** The zone of the host's aggregates, else `[DEFAULT] default_availability_zone`. */
  readonly availabilityZone: string;
  serviceUp: boolean;
  serviceDisabled: boolean;
  hypervisorType: string;
  hypervisorVersion: number;
  hostIp: string | null;
  /** The driver's CPU description, JSON text (Nova's cpu_info). */
  cpuInfo: string;
  supportedInstances: readonly SupportedInstance[];
  /** The node's reported counters (Nova's stats), strings as reported. */
  stats: Readonly<Record<string, string>>;
  /** Consecutive builds that failed on the node (the `failed_builds` stat). */
  failedBuilds: number;
  /** The aggregates of the host, with their metadata (one object per aggregate, shared by its hosts). */
  readonly aggregates: readonly HostAggregate[];
  readonly inventories: Readonly<Record<string, Inventory>>;
  /** Mutable: grows as this scheduling pass places instances here. */
  usages: Record<string, number>;
  /** The node's storage pools by tier, each with its own DISK_GB inventory. */
  readonly storagePools: Readonly<Record<string, StoragePoolState>>;
}

export interface StoragePoolState {
  /** The pool's resource provider. */
  readonly uuid: string;
  readonly inventory: Inventory;
  /** DISK_GB used; mutable like HostState.usages. */
  used: number;
}

/** What is left of `resourceClass` on the host; for DISK_GB, in all its pools together. */
export function free(state: HostState, resourceClass: string): number {
  // A branch per common class, each reading by a constant key: each read site then sees one object
  // shape, instead of every class going through one keyed read (a megamorphic lookup). Filtering and
  // weighing read the view's columns (host-columns.ts), not this: it runs where the columns are built
  // or a host's are worked out again (HostColumns.update, four classes per host), and in the resource
  // filters' `passes` when a request's alternates are re-checked.
  switch (resourceClass) {
    case ResourceClass.VCPU:
      return left(state.inventories['VCPU'], state.usages['VCPU']);
    case ResourceClass.MEMORY_MB:
      return left(state.inventories['MEMORY_MB'], state.usages['MEMORY_MB']);
    case ResourceClass.DISK_GB:
      return left(state.inventories['DISK_GB'], state.usages['DISK_GB']) + poolsLeft(state);
    default:
      return left(state.inventories[resourceClass], state.usages[resourceClass]);
  }
}

function left(inventory: Inventory | undefined, used: number | undefined): number {
  return inventory ? capacity(inventory) - (used ?? 0) : 0;
}

/** DISK_GB left in all the host's pools. */
function poolsLeft(state: HostState): number {
  let sum = 0;
  // for...in, not Object.values: this runs for every host in every pass, and allocates nothing.
  for (const tier in state.storagePools) {
    const pool = state.storagePools[tier]!;
    sum += capacity(pool.inventory) - pool.used;
  }
  return sum;
}

/** DISK_GB left in the host's pool of `tier`, or null when it has no such pool. */
export function freeInPool(state: HostState, tier: string): number | null {
  const pool = state.storagePools[tier];
  return pool ? capacity(pool.inventory) - pool.used : null;
}

/**
 * Counts `resources` as used on this host, DISK_GB in the pool of `storageTier` when given; `sign` -1
 * undoes it (a claim of this pass was released).
 */
export function consume(
  state: HostState,
  resources: Readonly<Record<string, number>>,
  sign: 1 | -1 = 1,
  storageTier?: string,
): void {
  for (const [resourceClass, amount] of Object.entries(resources)) {
    const pool = resourceClass === ResourceClass.DISK_GB && storageTier ? state.storagePools[storageTier] : undefined;
    if (pool) pool.used += sign * amount;
    else state.usages[resourceClass] = (state.usages[resourceClass] ?? 0) + sign * amount;
  }
}

/**
 * The host's aggregate metadata as Nova's filters read it: each key with every value any of the host's
 * aggregates gives it, comma-separated values split and trimmed (Nova's aggregate_metadata_get_by_host).
 */
export function aggregateMetadata(state: HostState): ReadonlyMap<string, ReadonlySet<string>> {
  // Kept per aggregate list, which lives as long as the view it was loaded with.
  const cached = metadataCache.get(state.aggregates);
  if (cached) return cached;
  const metadata = new Map<string, Set<string>>();
  for (const aggregate of state.aggregates) {
    for (const [key, value] of Object.entries(aggregate.metadata)) {
      let values = metadata.get(key);
      if (!values) metadata.set(key, (values = new Set()));
      for (const part of value.split(',')) values.add(part.trim());
    }
  }
  metadataCache.set(state.aggregates, metadata);
  return metadata;
}

const metadataCache = new WeakMap<readonly HostAggregate[], ReadonlyMap<string, ReadonlySet<string>>>();
