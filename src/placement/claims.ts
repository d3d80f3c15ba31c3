/**
 * Atomic resource claims. A claim re-checks capacity inside one transaction and commits only if the
 * provider's generation is still the one it read (compare-and-swap), so schedulers racing for the last
 * capacity of a host can never overcommit it: the loser sees a conflict and tries its next host.
 */
import type { Db } from '../common/db/database.ts';
import { isLockConflict } from '../common/db/lock-conflict.ts';
import { now } from '../common/db/schema.ts';
import { ClaimFailed } from '../common/errors.ts';
import { refusal, type ResourceRequest } from './resource-classes.ts';

/** Attempts of one claim while other claims keep committing; each retry waits a little, at random. */
const MAX_GENERATION_RETRIES = 30;

/**
 * Allocates `resources` of provider `providerUuid` to `consumerId`. Throws ClaimFailed when the provider
 * lacks the capacity; retries by itself when only the generation moved (another claim on the same host
 * committed in between but capacity may still be there).
 */
export async function claimResources(
  db: Db,
  consumerId: string,
  providerUuid: string,
  resources: ResourceRequest,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_GENERATION_RETRIES; attempt++) {
    if (attempt > 0) await pause(attempt);
    const outcome = await tryClaim(db, consumerId, providerUuid, resources);
    if (outcome === 'claimed') return;
  }
  throw new ClaimFailed(`provider ${providerUuid} kept changing during the claim for ${consumerId}; try another host`);
}

async function tryClaim(
  db: Db,
  consumerId: string,
  providerUuid: string,
  resources: ResourceRequest,
): Promise<'claimed' | 'retry'> {
  return db
    .transaction()
    .execute(async (trx) => {
      const provider = await trx
        .selectFrom('resource_providers')
        .select(['id', 'generation'])
        .where('uuid', '=', providerUuid)
        .executeTakeFirst();
      if (!provider) throw new ClaimFailed(`resource provider ${providerUuid} not found`);
      const inventories = await trx
        .selectFrom('inventories')
        .selectAll()
        .where('resource_provider_id', '=', provider.id)
        .execute();
      const usedRows = await trx
        .selectFrom('allocations')
        .select((eb) => ['resource_class', eb.fn.sum<number>('used').as('used')])
        .where('resource_provider_id', '=', provider.id)
        .where('consumer_id', '!=', consumerId) // its own allocations are replaced below, not added to
        .groupBy('resource_class')
        .execute();
      const used = new Map(usedRows.map((r) => [r.resource_class, Number(r.used)]));
      for (const [resourceClass, amount] of Object.entries(resources)) {
        const inventory = inventories.find((i) => i.resource_class === resourceClass);
        const why = refusal(resourceClass, inventory, used.get(resourceClass) ?? 0, amount);
        if (why) throw new ClaimFailed(`cannot claim on ${providerUuid}: ${why}`);
      }
      const timestamp = now();
      const rows = Object.entries(resources)
        .filter(([, amount]) => amount > 0)
        .map(([resource_class, used]) => ({
          resource_provider_id: provider.id,
          consumer_id: consumerId,
          resource_class,
          used,
          created_at: timestamp,
        }));
      // Replacing the consumer's allocations makes a claim delivered twice harmless.
      await trx.deleteFrom('allocations').where('consumer_id', '=', consumerId).execute();
      if (rows.length) await trx.insertInto('allocations').values(rows).execute();
      const bumped = await trx
        .updateTable('resource_providers')
        .set({ generation: provider.generation + 1, updated_at: timestamp })
        .where('id', '=', provider.id)
        .where('generation', '=', provider.generation)
        .executeTakeFirst();
      if (Number(bumped.numUpdatedRows) !== 1) throw new GenerationConflict();
      return 'claimed' as const;
    })
    .catch((err: unknown) => {
      if (err instanceof GenerationConflict || isLockConflict(err)) return 'retry' as const;
      throw err;
    });
}

class GenerationConflict extends Error {}

/** A short random wait before retry `attempt`, so racing transactions stop colliding in lockstep. */
function pause(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 ** attempt)));
}

/** Frees everything `consumerId` holds, on every provider. Idempotent. */
export async function releaseAllocations(db: Db, consumerId: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await releaseOnce(db, consumerId);
    } catch (err) {
      if (!isLockConflict(err) || attempt + 1 >= MAX_GENERATION_RETRIES) throw err;
      await pause(attempt + 1);
    }
  }
}

async function releaseOnce(db: Db, consumerId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const providers = await trx
      .selectFrom('allocations')
      .select('resource_provider_id')
      .distinct()
      .where('consumer_id', '=', consumerId)
      .execute();
    if (!providers.length) return;
    await trx.deleteFrom('allocations').where('consumer_id', '=', consumerId).execute();
    await trx
      .updateTable('resource_providers')
      .set((eb) => ({ generation: eb('generation', '+', 1), updated_at: now() }))
      .where(
        'id',
        'in',
        providers.map((p) => p.resource_provider_id),
      )
      .execute();
  });
}

/** The resources an instance of this flavor needs. */
export function resourcesForFlavor(flavor: {
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
}): Record<string, number> {
  return {
    VCPU: flavor.vcpus,
    MEMORY_MB: flavor.memory_mb,
    DISK_GB: flavor.root_gb + flavor.ephemeral_gb + Math.ceil(flavor.swap / 1024),
  };
}
