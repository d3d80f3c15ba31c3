/**
 * Atomic resource claims. A claim adds its resources to the provider's usage rows in one conditional
 * UPDATE that also checks them against the inventory limits kept on those rows (capacity, min_unit,
 * max_unit, step_size; usage-limits.ts), then writes the allocations, in one transaction: BEGIN, what the
 * consumer held, the UPDATE, the allocations, COMMIT (on PostgreSQL the middle three are one statement).
 * The UPDATE takes the rows' locks, so schedulers racing for the last capacity of a host queue there and
 * each sees the usage the one before committed (InnoDB's UPDATE reads the latest rows, not its snapshot;
 * PostgreSQL re-checks the condition on the row it waited for; SQLite admits one writer): the loser's
 * UPDATE matches fewer rows than it asked for, it rolls back and gets ClaimFailed, with the reason read
 * afterwards. Claims on different hosts never wait for each other.
 */
import { PostgresAdapter, sql, type RawBuilder, type Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { retryOnLockConflict } from '../common/db/lock-conflict.ts';
import { lockRows } from '../common/db/row-locks.ts';
import { now, type Schema } from '../common/db/schema.ts';
import { ClaimFailed } from '../common/errors.ts';
import { capacity, refusal, ResourceClass, type ResourceRequest } from './resource-classes.ts';
import { repairUsageRows } from './usage-limits.ts';

/** Attempts of one claim or release that loses a deadlock or lock timeout; each retry waits a little. */
const MAX_LOCK_RETRIES = 30;
/**
 * Claims run again when their UPDATE was refused but a fresh read finds nothing to refuse: capacity
 * freed in between, a provider re-created under the same uuid, usage rows repaired (see whyRefused).
 */
const MAX_CLAIM_ATTEMPTS = 3;

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

/** The claim's UPDATE matched fewer usage rows than it asked for: something does not fit. */
class UpdateRefused extends Error {}

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
  const tier = storageTier ?? null;
  for (let attempt = 1; ; attempt++) {
    const targets = claimTargets(await providersOf(db, providerUuid, tier), resources, tier);
    try {
      await retryOnLockConflict(
        () => db.transaction().execute((trx) => claimIn(trx, consumerId, providerUuid, targets, guard ?? null)),
        MAX_LOCK_RETRIES,
      );
      return;
    } catch (err) {
      // Not a lock conflict, so retryOnLockConflict rethrew it at once.
      if (!(err instanceof UpdateRefused)) throw err;
    }
    const why = await whyRefused(db, consumerId, providerUuid, resources, tier);
    if (why !== null) throw new ClaimFailed(`cannot claim on ${providerUuid}: ${why}`);
    if (attempt >= MAX_CLAIM_ATTEMPTS) {
      throw new ClaimFailed(`cannot claim on ${providerUuid}: its usage kept changing during the claim; try again`);
    }
  }
}

async function claimIn(
  trx: Trx,
  consumerId: string,
  providerUuid: string,
  targets: readonly ClaimTarget[],
  guard: AntiAffinityGuard | null,
): Promise<void> {
  const wanted = targets.filter((t) => t.amount !== 0);
  const timestamp = now();
  const done =
    wanted.length > 0 &&
    trx.getExecutor().adapter instanceof PostgresAdapter &&
    (await claimInOneStatement(trx, consumerId, wanted, timestamp));
  if (!done) {
    // The claim replaces what the consumer holds: given back first, so the check below counts it free.
    const previous = await heldBy(trx, consumerId);
    if (previous.length) await releaseIn(trx, consumerId, previous);
    if (wanted.length && (await addWithinLimits(trx, wanted, timestamp)) < wanted.length) throw new UpdateRefused();
  }
  // After the UPDATE: it holds the node's usage-row locks, so claims on the node count members in turn
  // (the count leaves out this consumer's own allocations, written already or not).
  if (guard) await checkAntiAffinity(trx, guard, consumerId, providerUuid, targets);
  if (done || !wanted.length) return;
  await trx
    .insertInto('allocations')
    .values(wanted.map((t) => allocationRow(t, consumerId, timestamp)))
    .execute();
}

function allocationRow(target: ClaimTarget, consumerId: string, timestamp: string) {
  return {
    resource_provider_id: target.providerId,
    consumer_id: consumerId,
    resource_class: target.resourceClass,
    used: target.amount,
    created_at: timestamp,
  };
}

/**
 * Adds each target's amount to its usage row where it fits the row's limits, in one statement; returns
 * how many rows it changed (all of them, or the claim does not fit).
 */
async function addWithinLimits(trx: Trx, targets: readonly ClaimTarget[], timestamp: string): Promise<number> {
  const amount = amountByClass(targets);
  const result = await trx
    .updateTable('resource_usages')
    // The stamp lets the schedulers' views reload only the usage that changed (fleet-changes.ts).
    .set((eb) => ({ used: eb('used', '+', amount), updated_at: timestamp }))
    .where(targetRows(targets))
    .where(withinLimits(amount))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * PostgreSQL only (data-modifying WITH): the claim of a consumer that holds nothing in one statement,
 * the UPDATE of addWithinLimits and the allocations' INSERT, which writes only if every usage row was
 * changed. Round trips are what a claim waits for on a busy server, and this saves two of five. Returns
 * false, having written nothing, when the consumer holds allocations (the caller replaces them).
 */
async function claimInOneStatement(
  trx: Trx,
  consumerId: string,
  targets: readonly ClaimTarget[],
  timestamp: string,
): Promise<boolean> {
  const amount = amountByClass(targets);
  const rows = sql.join(
    targets
      .map((t) => allocationRow(t, consumerId, timestamp))
      .map(
        (r) =>
          sql`(${sql.lit(r.resource_provider_id)}, ${r.consumer_id}, ${r.resource_class}, ${sql.lit(r.used)}, ${r.created_at})`,
      ),
  );
  const result = await sql<{ held: number; added: number }>`
    with held as (select 1 from allocations where consumer_id = ${consumerId} limit 1),
    added as (
      update resource_usages set used = used + ${amount}, updated_at = ${timestamp}
      where (${targetRows(targets)}) and ${withinLimits(amount)} and not exists (select 1 from held)
      returning 1),
    stored as (
      insert into allocations (resource_provider_id, consumer_id, resource_class, used, created_at)
      select * from (values ${rows}) as v (resource_provider_id, consumer_id, resource_class, used, created_at)
      where (select count(*) from added) = ${sql.lit(targets.length)}
      returning 1)
    select (select count(*) from held) as held, (select count(*) from added) as added`.execute(trx);
  const { held, added } = result.rows[0]!;
  if (Number(held) > 0) return false;
  if (Number(added) < targets.length) throw new UpdateRefused();
  return true;
}

/**
 * The amount of each target, by its class: each resource class appears once in a request. Literals
 * (claimTargets checked they are whole numbers), so every engine types the expression as an integer.
 */
function amountByClass(targets: readonly ClaimTarget[]): RawBuilder<number> {
  return sql<number>`case resource_class ${sql.join(
    targets.map((t) => sql`when ${t.resourceClass} then ${sql.lit(t.amount)}`),
    sql` `,
  )} end`;
}

/** The usage rows of the targets: their providers' rows of their classes. */
function targetRows(targets: readonly ClaimTarget[]): RawBuilder<boolean> {
  return sql<boolean>`(${sql.join(
    [...groupByProvider(targets, (t) => t.providerId)].map(
      ([providerId, rows]) =>
        sql`(resource_provider_id = ${sql.lit(providerId)} and resource_class in (${sql.join(rows.map((t) => t.resourceClass))}))`,
    ),
    sql` or `,
  )})`;
}

/** NULL limits (no inventory) make the condition NULL, which refuses. */
function withinLimits(amount: RawBuilder<number>): RawBuilder<boolean> {
  return sql<boolean>`used + ${amount} <= capacity and ${amount} >= min_unit and ${amount} <= max_unit
    and ${amount} % step_size = 0`;
}

/**
 * Why the provider cannot give `resources` to `consumerId` now, from a fresh read, in Nova's words; null
 * when nothing refuses them any more (the claim is then tried again). Usage rows found without their
 * inventory's limits, which would refuse every claim, are repaired first.
 */
async function whyRefused(
  db: Db,
  consumerId: string,
  providerUuid: string,
  resources: ResourceRequest,
  tier: string | null,
): Promise<string | null> {
  // Looked up afresh: the remembered ids may be a deleted provider's, which is why nothing matched.
  const targets = claimTargets(await providersOf(db, providerUuid, tier, true), resources, tier);
  const providerIds = [...groupByProvider(targets, (t) => t.providerId).keys()];
  const [inventories, usages, held] = await Promise.all([
    db.selectFrom('inventories').selectAll().where('resource_provider_id', 'in', providerIds).execute(),
    db.selectFrom('resource_usages').selectAll().where('resource_provider_id', 'in', providerIds).execute(),
    heldBy(db, consumerId),
  ]);
  const used = new Map(usages.map((u) => [key(u.resource_provider_id, u.resource_class), u.used]));
  for (const p of held) {
    const k = key(p.resource_provider_id, p.resource_class);
    if (used.has(k)) used.set(k, used.get(k)! - p.used);
  }
  let stale = false;
  for (const t of targets) {
    const inventory = inventories.find(
      (i) => i.resource_provider_id === t.providerId && i.resource_class === t.resourceClass,
    );
    const why = refusal(t.resourceClass, inventory, used.get(key(t.providerId, t.resourceClass)) ?? 0, t.amount);
    if (why) return `${t.where}${why}`;
    const usage = usages.find((u) => u.resource_provider_id === t.providerId && u.resource_class === t.resourceClass);
    if (
      inventory &&
      (!usage ||
        usage.capacity !== capacity(inventory) ||
        usage.min_unit !== inventory.min_unit ||
        usage.max_unit !== inventory.max_unit ||
        usage.step_size !== inventory.step_size)
    ) {
      stale = true;
    }
  }
  if (stale) await repairUsageRows(db, providerIds);
  return null;
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

/** A node's provider id and, when a tier was asked for, its pool's. */
interface NodeProviders {
  readonly nodeId: number;
  readonly poolId: number | null;
}

/** A node provider's id and its storage pools' ids by tier. */
interface KnownNode {
  readonly id: number;
  readonly pools: Map<string, number>;
}

/**
 * Provider ids by node uuid, per database, so a claim does not look them up each time: an id never
 * changes for a provider, and one deleted since only makes the claim's UPDATE match nothing, after which
 * whyRefused looks again. Read whole at the first claim (a scheduler claims on hosts all over the fleet,
 * and its view reads the same table whole at every full load, fleet-changes.ts); a node added later is
 * looked up on its first claim.
 */
const knownProviders = new WeakMap<Db, Promise<Map<string, KnownNode>>>();

/** The node's provider ids, remembered ones unless `fresh`; a fresh look-up replaces what was remembered. */
async function providersOf(db: Db, providerUuid: string, tier: string | null, fresh = false): Promise<NodeProviders> {
  let loading = knownProviders.get(db);
  if (!loading) {
    loading = readAllProviders(db);
    knownProviders.set(db, loading);
    // A failed read is not remembered: the next claim reads again.
    loading.catch(() => knownProviders.delete(db));
  }
  const known = await loading;
  const cached = known.get(providerUuid);
  const cachedPool = tier === null ? null : cached?.pools.get(tier);
  if (!fresh && cached && cachedPool !== undefined) return { nodeId: cached.id, poolId: cachedPool };
  const row = await lookUpProvider(db, providerUuid, tier);
  if (!row) {
    known.delete(providerUuid);
    throw new ClaimFailed(`resource provider ${providerUuid} not found`);
  }
  const entry = cached?.id === row.id ? cached : { id: row.id, pools: new Map<string, number>() };
  known.set(providerUuid, entry);
  if (tier === null) return { nodeId: row.id, poolId: null };
  if (row.pool_id === null) {
    entry.pools.delete(tier);
    throw new ClaimFailed(`cannot claim on ${providerUuid}: no ${tier} storage pool`);
  }
  entry.pools.set(tier, row.pool_id);
  return { nodeId: row.id, poolId: row.pool_id };
}

/** The provider of `uuid`, with its pool of `tier` when one is asked for, in one statement. */
function lookUpProvider(db: Db, uuid: string, tier: string | null) {
  const node = db.selectFrom('resource_providers as node').where('node.uuid', '=', uuid);
  if (tier === null) return node.select(['node.id', sql<number | null>`null`.as('pool_id')]).executeTakeFirst();
  return node
    .leftJoin('resource_providers as pool', (join) =>
      join.onRef('pool.parent_provider_id', '=', 'node.id').on('pool.storage_tier', '=', tier),
    )
    .select(['node.id', 'pool.id as pool_id'])
    .executeTakeFirst();
}

async function readAllProviders(db: Db): Promise<Map<string, KnownNode>> {
  const rows = await db
    .selectFrom('resource_providers')
    .select(['id', 'uuid', 'parent_provider_id', 'storage_tier'])
    .execute();
  const byId = new Map<number, KnownNode>();
  const known = new Map<string, KnownNode>();
  for (const r of rows) {
    if (r.parent_provider_id !== null) continue;
    const node = { id: r.id, pools: new Map<string, number>() };
    byId.set(r.id, node);
    known.set(r.uuid, node);
  }
  for (const r of rows) {
    if (r.parent_provider_id !== null && r.storage_tier !== null)
      byId.get(r.parent_provider_id)?.pools.set(r.storage_tier, r.id);
  }
  return known;
}

/** Where each resource comes from: the node's provider, or for DISK_GB with a tier, its pool. */
function claimTargets(providers: NodeProviders, resources: ResourceRequest, tier: string | null): ClaimTarget[] {
  return Object.entries(resources).map(([resourceClass, amount]) => {
    // Amounts go into the UPDATE as literals (amountByClass).
    if (!Number.isSafeInteger(amount)) throw new ClaimFailed(`${resourceClass} ${amount} is not a whole number`);
    return providers.poolId !== null && resourceClass === ResourceClass.DISK_GB
      ? { providerId: providers.poolId, resourceClass, amount, where: `${tier} pool: ` }
      : { providerId: providers.nodeId, resourceClass, amount, where: '' };
  });
}

/** Rows by provider id, providers in the order they first appear. */
function groupByProvider<T>(rows: readonly T[], providerOf: (row: T) => number): Map<number, T[]> {
  const byProvider = new Map<number, T[]>();
  for (const r of rows) {
    const list = byProvider.get(providerOf(r));
    if (list) list.push(r);
    else byProvider.set(providerOf(r), [r]);
  }
  return byProvider;
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

/**
 * Hands everything `from` holds to `to`, replacing what `to` held (freed first): the same resources on
 * the same providers under another consumer, so usage changes only by what `to` gave back. A move puts
 * the source host's share under its migration's uuid this way (Nova's migration-based allocations), and
 * a revert hands it back. When `from` holds nothing (the move was done already) nothing changes.
 */
export async function moveAllocations(db: Db, from: string, to: string): Promise<void> {
  await retryOnLockConflict(
    () =>
      db.transaction().execute(async (trx) => {
        if (!(await heldBy(trx, from)).length) return;
        const previous = await heldBy(trx, to);
        if (previous.length) await releaseIn(trx, to, previous);
        await trx.updateTable('allocations').set({ consumer_id: to }).where('consumer_id', '=', from).execute();
      }),
    MAX_LOCK_RETRIES,
  );
}

/**
 * Frees what the moves of a deleted instance still hold under their migrations' uuids (a server deleted
 * in VERIFY_RESIZE, or mid-move): its own allocations are freed by the caller.
 */
export async function releaseMoveAllocations(db: Db, instanceUuid: string): Promise<void> {
  const moves = await db.selectFrom('migrations').select('uuid').where('instance_uuid', '=', instanceUuid).execute();
  for (const { uuid } of moves) await releaseAllocations(db, uuid);
}

interface Held {
  resource_provider_id: number;
  resource_class: string;
  used: number;
}

function heldBy(db: Db, consumerId: string): Promise<Held[]> {
  // In provider order, so a release touching a node and its pool locks them as claims do.
  return db
    .selectFrom('allocations')
    .select(['resource_provider_id', 'resource_class', 'used'])
    .where('consumer_id', '=', consumerId)
    .orderBy('resource_provider_id')
    .execute();
}

async function releaseIn(trx: Trx, consumerId: string, held: readonly Held[]): Promise<void> {
  await trx.deleteFrom('allocations').where('consumer_id', '=', consumerId).execute();
  // One statement per provider, in provider order (heldBy's), as claims take their locks.
  for (const [providerId, rows] of groupByProvider(held, (h) => h.resource_provider_id)) {
    const freed = sql<number>`case resource_class ${sql.join(
      rows.map((r) => sql`when ${r.resource_class} then ${r.used}`),
      sql` `,
    )} else 0 end`;
    await trx
      .updateTable('resource_usages')
      // The stamp lets the schedulers' views reload only the usage that changed (fleet-changes.ts).
      .set((eb) => ({ used: eb('used', '-', freed), updated_at: now() }))
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
