/**
 * The storage tier a new server's disk goes to (a Stratus extension: Nova has no storage tiers). Three
 * ways to ask, so that every client can: the scheduler hint `disk_type` (any microversion, so stock
 * clients work: `openstack server create --hint disk_type=ssd`), the flavor extra spec `storage:tier`
 * (set by the operator) and, for a client that asks for the extension with the header
 * `Stratus-Extensions: storage-tier` (extensions.ts), the request body field `instance_disk_type`.
 * Asks that disagree, or an unknown tier, are a 400; no ask means `[storage] default_tier`. The same
 * header makes server views carry STORAGE_TIER_ATTRIBUTE; without it they carry Nova's keys only.
 */
import type { Config } from '../../../common/config/load-config.ts';
import { BadRequest } from '../../../common/errors.ts';
import { isStorageTier, STORAGE_TIERS, type StorageTier } from '../../../common/storage-tiers.ts';
import type { Flavor } from '../../../objects/flavors.ts';

/** The Stratus extension (extensions.ts) that adds `instance_disk_type` and STORAGE_TIER_ATTRIBUTE. */
export const STORAGE_TIER_EXTENSION = 'storage-tier';
/** The server attribute that shows the tier, in the prefix style of Nova's extension attributes. */
export const STORAGE_TIER_ATTRIBUTE = 'STRATUS-EXT-STORAGE:tier';
export const DISK_TYPE_HINT = 'disk_type';
export const FLAVOR_TIER_SPEC = 'storage:tier';

interface Ask {
  readonly source: string;
  readonly tier: string;
}

/**
 * `hints` as create-checks.ts's schedulerHints reads them; the schema has made `disk_type` a string.
 * `diskType` is the body's `instance_disk_type`.
 */
export function requestedStorageTier(
  hints: Readonly<Record<string, string | string[]>>,
  diskType: string | undefined,
  flavor: Flavor,
  config: Config,
): StorageTier {
  const asks: Ask[] = [];
  if (diskType !== undefined) asks.push({ source: 'instance_disk_type', tier: diskType });
  const hint = hints[DISK_TYPE_HINT];
  if (typeof hint === 'string') asks.push({ source: `scheduler hint ${DISK_TYPE_HINT}`, tier: hint });
  const spec = flavor.extra_specs[FLAVOR_TIER_SPEC];
  if (spec !== undefined) asks.push({ source: `flavor extra spec ${FLAVOR_TIER_SPEC}`, tier: spec });

  for (const ask of asks) {
    if (!isStorageTier(ask.tier)) {
      throw new BadRequest(
        `Unknown storage tier '${ask.tier}' in ${ask.source}; expected one of ${STORAGE_TIERS.join(', ')}.`,
      );
    }
  }
  const differing = asks.find((a) => a.tier !== asks[0]!.tier);
  if (differing) {
    throw new BadRequest(
      `Conflicting storage tiers: ${asks.map((a) => `${a.source} asks for '${a.tier}'`).join(', ')}. ` +
        'Ask for one tier, or leave out all but one.',
    );
  }
  return (asks[0]?.tier ?? config.storage.default_tier) as StorageTier;
}
