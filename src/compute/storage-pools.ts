/**
 * The storage pools of a compute host, from its configuration: where each tier's disks live and how big
 * each pool is. One module for every driver: the qemu driver finds a tier's directory here
 * (`poolDirectory`) and sizes its pools (`poolSizeGb`); the fake driver reads its simulated pools here.
 * Each pool becomes a DISK_GB inventory of its own (a resource provider under the node's, see
 * placement/providers.ts), so the scheduler and the claims place a disk in a pool of the tier asked for.
 *
 * Syntax: `[storage] pools = tier:directory[:size_gb], ...` and `[fake_driver] storage_pools =
 * tier:size_gb, ...`. A bad entry stops the compute service at start-up with the option named.
 */
import { statfs } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Config } from '../common/config/load-config.ts';
import { ConfigError } from '../common/errors.ts';
import { isStorageTier, STORAGE_TIERS, type StorageTier } from '../common/storage-tiers.ts';

export interface StoragePoolConfig {
  readonly tier: StorageTier;
  readonly directory: string;
  /** The operator's size; null means the size of the directory's filesystem. */
  readonly sizeGb: number | null;
}

/** One pool of a node as its driver reports it. */
export interface StoragePoolResources {
  readonly tier: StorageTier;
  readonly totalGb: number;
}

const GIB = 1024 ** 3;

/** The host's pools from `[storage] pools`, or one pool of the default tier in `instances_path`. */
export function storagePools(config: Config): StoragePoolConfig[] {
  const option = '[storage] pools';
  if (!config.storage.pools.length) {
    return [
      { tier: config.storage.default_tier as StorageTier, directory: config.DEFAULT.instances_path, sizeGb: null },
    ];
  }
  const pools = config.storage.pools.map((entry) => {
    const parts = entry.split(':');
    if (parts.length < 2 || parts.length > 3) {
      throw new ConfigError(`${option}: '${entry}' is not tier:directory or tier:directory:size_gb`);
    }
    const [tier, directory, size] = parts as [string, string, string | undefined];
    if (!isAbsolute(directory)) throw new ConfigError(`${option}: '${entry}': the directory must be an absolute path`);
    return {
      tier: tierOf(option, entry, tier),
      directory,
      sizeGb: size === undefined ? null : sizeOf(option, entry, size),
    };
  });
  return unique(option, pools);
}

/** The directory of `tier`'s pool on this host; throws when the host has no pool of that tier. */
export function poolDirectory(pools: readonly StoragePoolConfig[], tier: string): string {
  const pool = pools.find((p) => p.tier === tier);
  if (!pool) throw new ConfigError(`this host has no ${tier} storage pool (see [storage] pools)`);
  return pool.directory;
}

/** The pool's size in GiB: the configured size, else its filesystem's (rounded down). */
export async function poolSizeGb(pool: StoragePoolConfig): Promise<number> {
  if (pool.sizeGb !== null) return pool.sizeGb;
  let stats;
  try {
    stats = await statfs(pool.directory);
  } catch (err) {
    throw new ConfigError(
      `[storage] pools: cannot size the ${pool.tier} pool at ${pool.directory} (${(err as Error).message}); ` +
        'create the directory or give its size as tier:directory:size_gb',
    );
  }
  return Math.floor((stats.blocks * stats.bsize) / GIB);
}

/** The fake driver's simulated pools per node, from `[fake_driver] storage_pools`. */
export function fakeStoragePools(config: Config): StoragePoolResources[] {
  const option = '[fake_driver] storage_pools';
  if (!config.fake_driver.storage_pools.length) {
    return [{ tier: config.storage.default_tier as StorageTier, totalGb: config.fake_driver.local_gb }];
  }
  const pools = config.fake_driver.storage_pools.map((entry) => {
    const parts = entry.split(':');
    if (parts.length !== 2) throw new ConfigError(`${option}: '${entry}' is not tier:size_gb`);
    return { tier: tierOf(option, entry, parts[0]!), totalGb: sizeOf(option, entry, parts[1]!) };
  });
  return unique(option, pools);
}

function tierOf(option: string, entry: string, tier: string): StorageTier {
  if (!isStorageTier(tier)) {
    throw new ConfigError(`${option}: '${entry}': unknown tier '${tier}'; expected one of ${STORAGE_TIERS.join(', ')}`);
  }
  return tier;
}

function sizeOf(option: string, entry: string, size: string): number {
  if (!/^\d+$/.test(size) || Number(size) < 1) {
    throw new ConfigError(`${option}: '${entry}': the size must be a whole number of GiB, at least 1`);
  }
  return Number(size);
}

function unique<T extends { tier: StorageTier }>(option: string, pools: T[]): T[] {
  const seen = new Set<string>();
  for (const pool of pools) {
    if (seen.has(pool.tier)) throw new ConfigError(`${option}: tier '${pool.tier}' is given twice; one pool per tier`);
    seen.add(pool.tier);
  }
  return pools;
}
