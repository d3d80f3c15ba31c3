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
import { refusal, ResourceClass, type ResourceRequest } from './resource-classes.ts';

/** Attempts of one claim or release that loses a deadlock or lock timeout; each retry waits a little. */
const MAX_LOCK_RETRIES = 30;

type Trx = Transaction<Schema>;

/**
 * An anti-affinity group's rule, checked inside the claim: at most `maxPerHost` members of the group
 * hold allocations on the node. The scheduler's filter checks the same from its view, but two requests
 * for one group scheduled at the same moment (by one scheduler or several) both see the host free;
 * Nova catches that late on the compute host and reschedules. Here the claim itself refuses it: claims
 * on one node queue on its usage-row locks, so the second sees the first's allocation.
 */
export interface AntiAffinityGuard {
  readonly groupUuid: string;
  readonly maxPerHost: number;
}

/**
 * Allocates `resources` of the compute node provider `providerUuid` to `consumerId`, replacing what the
 * consumer held before (so a claim delivered twice is harmless). With `storageTier`, the DISK_GB comes
 * from the node's storage pool of that tier (a child provider), in the same transaction as the rest.
 * Throws ClaimFailed when a provider lacks capacity, the node has no pool of the tier, or `guard`'s
 * group already has its most members there.
 */
export async function claimResources(
  db: Db,
  consumerId: string,
  providerUuid: string,
  resources: ResourceRequest,
  storageTier?: string | null,
  guard?: AntiAffinityGuard | null,
): Promise<void> {
  await retryOnLockConflict(
    () =>
      db
        .transaction()
        .execute((trx) => claimIn(trx, consumerId, providerUuid, resources, storageTier ?? null, guard ?? null)),
    MAX_LOCK_RETRIES,
  );
}

async function claimIn(
  trx: Trx,
  consumerId: string,
  providerUuid: string,
  resources: ResourceRequest,
  storageTier: string | null,
  guard: AntiAffinityGuard | null,
): Promise<void> {
  const targets = await claimTargets(trx, providerUuid, resources, storageTier);
  const providerIds = [...new Set(targets.map((t) => t.providerId))];
  // Locked first, so claims on these providers queue here and inventories read next cannot change
  // underneath (setInventories takes the same locks). One statement in a fixed order: two claims
  // sharing a node and a pool take their locks in the same order and cannot deadlock.
  const usageRows = await lockRows(
    trx,
    trx
      .selectFrom('resource_usages')
      .select(['resource_provider_id', 'resource_class', 'used'])
      .where('resource_provider_id', 'in', providerIds)
      .orderBy('resource_provider_id')
      .orderBy('resource_class'),
  ).execute();
  if (guard) await checkAntiAffinity(trx, guard, consumerId, providerUuid, targets);
  // Locking too, for the same reason as in checkAntiAffinity: an inventory changed while this claim
  // waited for the usage locks must be seen, not the snapshot MariaDB took before the wait.
  const inventories = await lockRows(
    trx,
    trx.selectFrom('inventories').selectAll().where('resource_provider_id', 'in', providerIds),
  ).execute();
  const previous = await heldBy(trx, consumerId);
  const used = new Map(usageRows.map((r) => [key(r.resource_provider_id, r.resource_class), r.used]));
  for (const p of previous) {
    const k = key(p.resource_provider_id, p.resource_class);
    if (used.has(k)) used.set(k, used.get(k)! - p.used);
  }
  for (const t of targets) {
    const inventory = inventories.find(
      (i) => i.resource_provider_id === t.providerId && i.resource_class === t.resourceClass,
    );
    const why = refusal(t.resourceClass, inventory, used.get(key(t.providerId, t.resourceClass)) ?? 0, t.amount);
    if (why) throw new ClaimFailed(`cannot claim on ${providerUuid}: ${t.where}${why}`);
  }
  if (previous.length) await releaseIn(trx, consumerId, previous);
  const timestamp = now();
  const rows = targets
    .filter((t) => t.amount > 0)
    .map((t) => ({
      resource_provider_id: t.providerId,
      consumer_id: consumerId,
      resource_class: t.resourceClass,
      used: t.amount,
      created_at: timestamp,
    }));
  if (!rows.length) return;
  // setInventories writes a usage row with every inventory, so this is only a guard: an absent row would
  // make the update below count nothing, and the host could then be overcommitted.
  const missing = rows.filter((r) => !used.has(key(r.resource_provider_id, r.resource_class)));
  if (missing.length) {
    await trx
      .insertInto('resource_usages')
      .values(
        missing.map((r) => ({
          resource_provider_id: r.resource_provider_id,
          resource_class: r.resource_class,
          used: 0,
          updated_at: timestamp,
        })),
      )
      .execute();
  }
  await trx.insertInto('allocations').values(rows).execute();
  await addToUsages(trx, rows, 1);
}

/** Runs after the node's usage rows are locked, so concurrent claims on the node see each other. */
async function checkAntiAffinity(
  trx: Trx,
  guard: AntiAffinityGuard,
  consumerId: string,
  providerUuid: string,
  targets: readonly ClaimTarget[],
): Promise<void> {
  const nodeIds = [...new Set(targets.filter((t) => t.where === '').map((t) => t.providerId))];
  if (!nodeIds.length) return;
  // A locking read: on MariaDB a plain SELECT would see the snapshot taken before the lock wait, missing
  // the allocation of the claim that held the lock (PostgreSQL reads each statement afresh either way).
  const rows = await lockRows(
    trx,
    trx
      .selectFrom('allocations as a')
      .innerJoin('instance_group_members as m', 'm.instance_uuid', 'a.consumer_id')
      .innerJoin('instance_groups as g', 'g.id', 'm.group_id')
      .select('a.consumer_id')
      .where('g.uuid', '=', guard.groupUuid)
      .where('a.resource_provider_id', 'in', nodeIds)
      .where('a.consumer_id', '<>', consumerId),
  ).execute();
  const members = new Set(rows.map((r) => r.consumer_id)).size;
  if (members >= guard.maxPerHost) {
    throw new ClaimFailed(
      `cannot claim on ${providerUuid}: anti-affinity group ${guard.groupUuid} already has ${members} ` +
        `member(s) there (at most ${guard.maxPerHost})`,
    );
  }
}

interface ClaimTarget {
  providerId: number;
  resourceClass: string;
  amount: number;
  /** How a refusal names the provider when it is not the node itself ("ssd pool: "). */
  where: string;
}

/** Where each resource comes from: the node's provider, or for DISK_GB with a tier, its pool. */
async function claimTargets(
  trx: Trx,
  providerUuid: string,
  resources: ResourceRequest,
  storageTier: string | null,
): Promise<ClaimTarget[]> {
  const provider = await trx
    .selectFrom('resource_providers')
    .select('id')
    .where('uuid', '=', providerUuid)
    .executeTakeFirst();
  if (!provider) throw new ClaimFailed(`resource provider ${providerUuid} not found`);
  let poolId: number | null = null;
  if (storageTier !== null) {
    const pool = await trx
      .selectFrom('resource_providers')
      .select('id')
      .where('parent_provider_id', '=', provider.id)
      .where('storage_tier', '=', storageTier)
      .executeTakeFirst();
    if (!pool) throw new ClaimFailed(`cannot claim on ${providerUuid}: no ${storageTier} storage pool`);
    poolId = pool.id;
  }
  return Object.entries(resources).map(([resourceClass, amount]) =>
    poolId !== null && resourceClass === ResourceClass.DISK_GB
      ? { providerId: poolId, resourceClass, amount, where: `${storageTier} pool: ` }
      : { providerId: provider.id, resourceClass, amount, where: '' },
  );
}

function key(providerId: number, resourceClass: string): string {
  return `${providerId}:${resourceClass}`;
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
  // In provider order, so a release touching a node and its pool locks them as claims do.
  return trx
    .selectFrom('allocations')
    .select(['resource_provider_id', 'resource_class', 'used'])
    .where('consumer_id', '=', consumerId)
    .orderBy('resource_provider_id')
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
      // The stamp lets the schedulers' views reload only the usage that changed (host-state-cache.ts).
      .set((eb) => ({ used: eb('used', '+', delta), updated_at: now() }))
      .where('resource_provider_id', '=', providerId)
      .where(
        'resource_class',
        'in',
        rows.map((r) => r.resource_class),
      )
      .execute();
  }
}

/**
 * The resources an instance of this flavor needs. A flavor with `hw:cpu_policy=dedicated` asks for
 * dedicated host CPUs (PCPU) instead of shared ones (VCPU), as Nova translates it since Train.
 */
export function resourcesForFlavor(flavor: {
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
  extra_specs?: Readonly<Record<string, string>>;
}): Record<string, number> {
  const cpuClass = flavor.extra_specs?.['hw:cpu_policy'] === 'dedicated' ? ResourceClass.PCPU : ResourceClass.VCPU;
  return {
    [cpuClass]: flavor.vcpus,
    MEMORY_MB: flavor.memory_mb,
    DISK_GB: flavor.root_gb + flavor.ephemeral_gb + Math.ceil(flavor.swap / 1024),
  };
}
