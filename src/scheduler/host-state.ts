/**
 * What the scheduler knows of one compute node while it decides: capacity from the inventories, usage
 * from the allocations, and the node's service state. Filters and weighers read it; a selection updates
 * it at once (Nova's consume_from_instance) so several instances of one request spread correctly.
 */
import type { Inventory } from '../placement/resource-classes.ts';
import { capacity } from '../placement/resource-classes.ts';

export interface HostState {
  readonly host: string;
  readonly nodename: string;
  readonly uuid: string;
  readonly availabilityZone: string;
  readonly serviceUp: boolean;
  readonly serviceDisabled: boolean;
  readonly hypervisorType: string;
  readonly inventories: Readonly<Record<string, Inventory>>;
  /** Mutable: grows as this scheduling pass places instances here. */
  usages: Record<string, number>;
}

export function free(state: HostState, resourceClass: string): number {
  const inventory = state.inventories[resourceClass];
  if (!inventory) return 0;
  return capacity(inventory) - (state.usages[resourceClass] ?? 0);
}

/** Counts `resources` as used on this host; `sign` -1 undoes it (a claim of this pass was released). */
export function consume(state: HostState, resources: Readonly<Record<string, number>>, sign: 1 | -1 = 1): void {
  for (const [resourceClass, amount] of Object.entries(resources)) {
    state.usages[resourceClass] = (state.usages[resourceClass] ?? 0) + sign * amount;
  }
}
