/**
 * Storage tiers: the classes of disk a compute host can offer guests. Shared vocabulary of
 * the API (which validates what a server asks for), the scheduler and claims (which place a disk in a
 * pool of its tier) and compute hosts (which declare their pools).
 */
export const STORAGE_TIERS = ['hdd', 'ssd', 'pcie_ssd'] as const;

export type StorageTier = (typeof STORAGE_TIERS)[number];

export function isStorageTier(value: string): value is StorageTier {
  return (STORAGE_TIERS as readonly string[]).includes(value);
}
