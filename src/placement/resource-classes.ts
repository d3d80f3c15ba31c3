/** Resource classes and inventories, as Nova's placement service names them. */
import type { Inventory } from '../wire/messages/node-report.ts';

export const ResourceClass = {
  VCPU: 'VCPU',
  /** Dedicated host CPUs, pinned one-to-one to guest vCPUs (Nova's PCPU since Train). */
  PCPU: 'PCPU',
  MEMORY_MB: 'MEMORY_MB',
  DISK_GB: 'DISK_GB',
} as const;

export type { Inventory } from '../wire/messages/node-report.ts';

/** Resources one instance asks for, by resource class. */
export type ResourceRequest = Readonly<Record<string, number>>;

/** What a provider can still hand out of one class: (total - reserved) * ratio - used. */
export function capacity(inventory: Inventory): number {
  return Math.floor((inventory.total - inventory.reserved) * inventory.allocation_ratio);
}

/** Why `amount` cannot be allocated from `inventory` with `used` taken, or null if it can. */
export function refusal(
  resourceClass: string,
  inventory: Inventory | undefined,
  used: number,
  amount: number,
): string | null {
  if (amount === 0) return null;
  if (!inventory) return `no ${resourceClass} inventory`;
  if (amount < inventory.min_unit) return `${resourceClass} ${amount} below min_unit ${inventory.min_unit}`;
  if (amount > inventory.max_unit) return `${resourceClass} ${amount} above max_unit ${inventory.max_unit}`;
  if (amount % inventory.step_size !== 0)
    return `${resourceClass} ${amount} not a multiple of step_size ${inventory.step_size}`;
  if (used + amount > capacity(inventory)) {
    return `${resourceClass}: ${amount} requested, ${Math.max(0, capacity(inventory) - used)} free`;
  }
  return null;
}
