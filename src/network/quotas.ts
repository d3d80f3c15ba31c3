/**
 * Network quotas as Neutron keeps them: a limit per project and resource (network_quotas), Neutron's
 * defaults otherwise, -1 for unlimited. Usage is counted from the rows when a create asks; the
 * project's quota lock (shared with the compute quotas' lock table) makes the count and the insert
 * of racing API processes take turns, so a limit is never overshot.
 */
import type { Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import type { Schema } from '../common/db/schema.ts';
import { lockProjectQuota } from '../objects/quotas.ts';
import { OverQuota } from './errors.ts';
import { inTransaction } from './transaction.ts';

export const NETWORK_QUOTA_DEFAULTS = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
} as const;

export type NetworkQuotaResource = keyof typeof NETWORK_QUOTA_DEFAULTS;
export const NETWORK_QUOTA_RESOURCES = Object.keys(NETWORK_QUOTA_DEFAULTS) as NetworkQuotaResource[];

/** The table each resource is counted in (by project_id). */
const COUNTED_IN = {
  network: 'networks',
  subnet: 'subnets',
  port: 'ports',
  router: 'routers',
  floatingip: 'floating_ips',
  security_group: 'security_groups',
  security_group_rule: 'security_group_rules',
} as const satisfies Record<NetworkQuotaResource, keyof Schema>;

export async function quotaLimits(db: Db, projectId: string): Promise<Record<NetworkQuotaResource, number>> {
  const rows = await db
    .selectFrom('network_quotas')
    .select(['resource', 'hard_limit'])
    .where('project_id', '=', projectId)
    .execute();
  const limits: Record<NetworkQuotaResource, number> = { ...NETWORK_QUOTA_DEFAULTS };
  for (const r of rows) if (r.resource in limits) limits[r.resource as NetworkQuotaResource] = r.hard_limit;
  return limits;
}

export async function quotaUsage(db: Db, projectId: string, resource: NetworkQuotaResource): Promise<number> {
  const row = await db
    .selectFrom(COUNTED_IN[resource])
    .select((eb) => eb.fn.countAll().as('n'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Refuses to add `delta` of `resource` to the project beyond its limit. Call inside the transaction
 * that inserts: it takes the project's lock first. `knownLimit`: the limit, when the caller read it
 * already (only the count must be under the lock: a limit changed meanwhile may apply either way).
 */
export async function checkQuota(
  trx: Transaction<Schema>,
  projectId: string,
  resource: NetworkQuotaResource,
  delta: number,
  knownLimit?: number,
): Promise<void> {
  await lockProjectQuota(trx, projectId);
  const limit = knownLimit ?? (await quotaLimits(trx, projectId))[resource];
  if (limit < 0) return;
  if ((await quotaUsage(trx, projectId, resource)) + delta > limit) {
    throw new OverQuota(`Quota exceeded for resources: ['${resource}'].`);
  }
}

export async function setQuotaLimits(
  db: Db,
  projectId: string,
  limits: Partial<Record<NetworkQuotaResource, number>>,
): Promise<void> {
  await inTransaction(db, async (trx) => {
    for (const [resource, hard_limit] of Object.entries(limits)) {
      await trx
        .deleteFrom('network_quotas')
        .where('project_id', '=', projectId)
        .where('resource', '=', resource)
        .execute();
      await trx.insertInto('network_quotas').values({ project_id: projectId, resource, hard_limit }).execute();
    }
  });
}

/** Back to the defaults. */
export async function deleteQuotaLimits(db: Db, projectId: string): Promise<void> {
  await db.deleteFrom('network_quotas').where('project_id', '=', projectId).execute();
}
