/**
 * The inventory limits kept on each usage row (capacity, min_unit, max_unit, step_size), so that a claim
 * checks and adds in one conditional UPDATE (claims.ts). Copied from the inventories by the database
 * itself, in the transaction that changes them: the capacity is then the product of the stored values,
 * the same one every reader of the inventories computes.
 */
import { PostgresAdapter, sql, type RawBuilder, type Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { lockRows } from '../common/db/row-locks.ts';
import { now, type Schema } from '../common/db/schema.ts';

/**
 * Copies the limits of the inventories of `providerIds` (every provider when omitted) onto their usage
 * rows; a usage row without an inventory gets NULL limits, which refuse every claim. Call it in the
 * transaction that wrote the inventories, after their usage rows exist.
 */
export async function copyInventoryLimits(db: Db, providerIds?: readonly number[]): Promise<void> {
  if (providerIds && !providerIds.length) return;
  // PostgreSQL's real is single precision, and clients read it as its shortest decimal (0.9, not
  // 0.899999976): taken through that text, the product is the double capacity() computes from it.
  const ratio =
    db.getExecutor().adapter instanceof PostgresAdapter
      ? sql`cast(cast(i.allocation_ratio as text) as double precision)`
      : sql`i.allocation_ratio`;
  const of = (expression: RawBuilder<unknown>) =>
    sql<number | null>`(select ${expression} from inventories i
      where i.resource_provider_id = resource_usages.resource_provider_id
        and i.resource_class = resource_usages.resource_class)`;
  let update = db.updateTable('resource_usages').set({
    capacity: of(sql`floor((i.total - i.reserved) * ${ratio})`),
    min_unit: of(sql`i.min_unit`),
    max_unit: of(sql`i.max_unit`),
    step_size: of(sql`i.step_size`),
  });
  if (providerIds) update = update.where('resource_provider_id', 'in', [...providerIds]);
  await update.execute();
}

interface UsageKey {
  resource_provider_id: number;
  resource_class: string;
}

/**
 * Locks the usage rows of `providerIds` and returns their keys, for a transaction that changes their
 * inventories or usage rows: completeUsageRows then knows which usage rows exist (it adds only the
 * missing ones), and two such transactions on one provider (setInventories in providers.ts, the repair
 * after a refused claim) run one after the other. Claims no longer read the inventories: they check
 * the limits copied onto these same rows.
 */
export function lockUsageRows(trx: Transaction<Schema>, providerIds: readonly number[]): Promise<UsageKey[]> {
  return lockRows(
    trx,
    trx
      .selectFrom('resource_usages')
      .select(['resource_provider_id', 'resource_class'])
      .where('resource_provider_id', 'in', [...providerIds]),
  ).execute();
}

/**
 * Gives every inventory of `providerIds` its usage row (counting what is already allocated) and copies
 * the limits onto all of their usage rows. `locked` is what lockUsageRows returned earlier in the same
 * transaction.
 */
export async function completeUsageRows(
  trx: Transaction<Schema>,
  providerIds: readonly number[],
  locked: readonly UsageKey[],
): Promise<void> {
  if (!providerIds.length) return;
  const key = (u: UsageKey) => `${u.resource_provider_id}:${u.resource_class}`;
  const counted = new Set(locked.map(key));
  const inventories = await trx
    .selectFrom('inventories')
    .select(['resource_provider_id', 'resource_class'])
    .where('resource_provider_id', 'in', [...providerIds])
    .execute();
  const uncounted = inventories.filter((i) => !counted.has(key(i)));
  if (uncounted.length) {
    // Normally none (a new inventory), but a row lost otherwise starts from what is allocated.
    const allocated = await trx
      .selectFrom('allocations')
      .select(['resource_provider_id', 'resource_class'])
      .select((eb) => eb.fn.sum<number | string>('used').as('used'))
      .where('resource_provider_id', 'in', [...providerIds])
      .groupBy(['resource_provider_id', 'resource_class'])
      .execute();
    const used = new Map(allocated.map((a) => [key(a), Number(a.used)]));
    await trx
      .insertInto('resource_usages')
      .values(uncounted.map((i) => ({ ...i, used: used.get(key(i)) ?? 0, updated_at: now() })))
      .execute();
  }
  await copyInventoryLimits(trx, providerIds);
}

/** Usage rows made whole again for `providerIds`, in a transaction of their own. */
export async function repairUsageRows(db: Db, providerIds: readonly number[]): Promise<void> {
  await db
    .transaction()
    .execute(async (trx) => completeUsageRows(trx, providerIds, await lockUsageRows(trx, providerIds)));
}
