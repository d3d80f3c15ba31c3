/**
 * Atomic resource claims. A claim locks the provider's usage rows, re-checks capacity against the
 * inventories and writes the allocations and the new usage in one transaction, so schedulers racing for
 * the last capacity of a host can never overcommit it: the second waits for the first's commit, then
 * sees its usage and is refused (ClaimFailed) if nothing is left. Claims on different hosts never wait
 * for each other, and no claim reads more than one row per resource class.
 */
import { sql, type Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { retryOnLockConflict } from '../common/db/lock-conflict.ts';
import { lockRows } from '../common/db/row-locks.ts';
import { now, type Schema } from '../common/db/schema.ts';
import { ClaimFailed } from '../common/errors.ts';
import { refusal, type ResourceRequest } from './resource-classes.ts';

/** Attempts of one claim or release that loses a deadlock or lock timeout; each retry waits a little. */
const MAX_LOCK_RETRIES = 30;

type Trx = Transaction<Schema>;

/**
 * Allocates `resources` of provider `providerUuid` to `consumerId`, replacing what the consumer held
 * before (so a claim delivered twice is harmless). Throws ClaimFailed when the provider lacks capacity.
 */
export async function claimResources(
  db: Db,
  consumerId: string,
  providerUuid: string,
  resources: ResourceRequest,
): Promise<void> {
  await retryOnLockConflict(
    () => db.transaction().execute((trx) => claimIn(trx, consumerId, providerUuid, resources)),
    MAX_LOCK_RETRIES,
  );
}

async function claimIn(trx: Trx, consumerId: string, providerUuid: string, resources: ResourceRequest): Promise<void> {
  const provider = await trx
    .selectFrom('resource_providers')
    .select('id')
    .where('uuid', '=', providerUuid)
    .executeTakeFirst();
  if (!provider) throw new ClaimFailed(`resource provider ${providerUuid} not found`);
  // Locked first, so claims on this provider queue here and inventories read next cannot change
  // underneath (setInventories takes the same locks).
  const usageRows = await lockRows(
    trx,
    trx
      .selectFrom('resource_usages')
      .select(['resource_class', 'used'])
      .where('resource_provider_id', '=', provider.id),
  ).execute();
  const inventories = await trx
    .selectFrom('inventories')
    .selectAll()
    .where('resource_provider_id', '=', provider.id)
    .execute();
  const previous = await heldBy(trx, consumerId);
  const used = new Map(usageRows.map((r) => [r.resource_class, r.used]));
  for (const p of previous) {
    if (p.resource_provider_id === provider.id) used.set(p.resource_class, (used.get(p.resource_class) ?? 0) - p.used);
  }
  for (const [resourceClass, amount] of Object.entries(resources)) {
    const inventory = inventories.find((i) => i.resource_class === resourceClass);
    const why = refusal(resourceClass, inventory, used.get(resourceClass) ?? 0, amount);
    if (why) throw new ClaimFailed(`cannot claim on ${providerUuid}: ${why}`);
  }
  if (previous.length) await releaseIn(trx, consumerId, previous);
  const timestamp = now();
  const rows = Object.entries(resources)
    .filter(([, amount]) => amount > 0)
    .map(([resource_class, amount]) => ({
      resource_provider_id: provider.id,
      consumer_id: consumerId,
      resource_class,
      used: amount,
      created_at: timestamp,
    }));
  if (!rows.length) return;
  // setInventories writes a usage row with every inventory, so this is only a guard: an absent row would
  // make the update below count nothing, and the host could then be overcommitted.
  const missing = rows.filter((r) => !used.has(r.resource_class));
  if (missing.length) {
    await trx
      .insertInto('resource_usages')
      .values(missing.map((r) => ({ resource_provider_id: provider.id, resource_class: r.resource_class, used: 0 })))
      .execute();
  }
  await trx.insertInto('allocations').values(rows).execute();
  await addToUsages(trx, rows, 1);
}

/** Frees everything `consumerId` holds, on every provider. Idempotent. */
export async function releaseAllocations(db: Db, consumerId: string): Promise<void> {
  await retryOnLockConflict(
    () =>
      db.transaction().execute(async (trx) => {
        const held = await heldBy(trx, consumerId);
        if (held.length) await releaseIn(trx, consumerId, held);
      }),
    MAX_LOCK_RETRIES,
  );
}

interface Held {
  resource_provider_id: number;
  resource_class: string;
  used: number;
}

function heldBy(trx: Trx, consumerId: string): Promise<Held[]> {
  return trx
    .selectFrom('allocations')
    .select(['resource_provider_id', 'resource_class', 'used'])
    .where('consumer_id', '=', consumerId)
    .execute();
}

async function releaseIn(trx: Trx, consumerId: string, held: readonly Held[]): Promise<void> {
  await trx.deleteFrom('allocations').where('consumer_id', '=', consumerId).execute();
  await addToUsages(trx, held, -1);
}

/** Adds (sign 1) or subtracts (sign -1) allocations to their usage rows: one statement per provider. */
async function addToUsages(trx: Trx, allocations: readonly Held[], sign: 1 | -1): Promise<void> {
  const byProvider = new Map<number, Held[]>();
  for (const a of allocations) {
    const rows = byProvider.get(a.resource_provider_id);
    if (rows) rows.push(a);
    else byProvider.set(a.resource_provider_id, [a]);
  }
  for (const [providerId, rows] of byProvider) {
    const delta = sql<number>`case resource_class ${sql.join(
      rows.map((r) => sql`when ${r.resource_class} then ${sign * r.used}`),
      sql` `,
    )} else 0 end`;
    await trx
      .updateTable('resource_usages')
      .set((eb) => ({ used: eb('used', '+', delta) }))
      .where('resource_provider_id', '=', providerId)
      .where(
        'resource_class',
        'in',
        rows.map((r) => r.resource_class),
      )
      .execute();
  }
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
