/**
 * A project's `default` security group, made on first use as Neutron makes it: egress to anywhere over
 * IPv4 and IPv6, ingress only from members of the group itself. default_security_groups holds one row
 * per project; whichever transaction inserts it made the group, so two first uses racing in two API
 * processes make one group, not two.
 */
import { randomUUID } from 'node:crypto';
import { MysqlAdapter } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { lockRows } from '../common/db/row-locks.ts';
import { now, type SecurityGroupRulesTable } from '../common/db/schema.ts';
import { inTransaction } from './transaction.ts';

export const DEFAULT_GROUP_NAME = 'default';
export const DEFAULT_GROUP_DESCRIPTION = 'Default security group';

/**
 * First uses of a project's default group in flight, per database: a burst of a new project's builds
 * asks for it dozens of times at once, and they wait for one making rather than each racing its own
 * transaction to the same row.
 */
const making = new WeakMap<Db, Map<string, Promise<string>>>();

/** The id of the project's default group, made now if it has none. */
export function ensureDefaultSecurityGroup(db: Db, projectId: string): Promise<string> {
  let inFlight = making.get(db);
  if (!inFlight) making.set(db, (inFlight = new Map()));
  const pending = inFlight.get(projectId);
  if (pending) return pending;
  const made = findOrMakeDefaultGroup(db, projectId).finally(() => inFlight.delete(projectId));
  inFlight.set(projectId, made);
  return made;
}

async function findOrMakeDefaultGroup(db: Db, projectId: string): Promise<string> {
  const existing = await db
    .selectFrom('default_security_groups')
    .select('security_group_id')
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (existing) return existing.security_group_id;
  return inTransaction(db, async (trx) => {
    const id = randomUUID();
    const insert = trx.insertInto('default_security_groups').values({ project_id: projectId, security_group_id: id });
    if (trx.getExecutor().adapter instanceof MysqlAdapter) await insert.ignore().execute();
    else await insert.onConflict((oc) => oc.column('project_id').doNothing()).execute();
    // A locking read sees the row another transaction committed meanwhile (a plain one on MariaDB
    // could read its older snapshot).
    const row = await lockRows(
      trx,
      trx.selectFrom('default_security_groups').select('security_group_id').where('project_id', '=', projectId),
    ).executeTakeFirstOrThrow();
    if (row.security_group_id !== id) return row.security_group_id;
    const stamp = now();
    await trx
      .insertInto('security_groups')
      .values({
        id,
        project_id: projectId,
        name: DEFAULT_GROUP_NAME,
        description: DEFAULT_GROUP_DESCRIPTION,
        stateful: 1,
        revision_number: 1,
        created_at: stamp,
        updated_at: stamp,
      })
      .execute();
    const rule = (direction: string, ethertype: string, remote: string | null): SecurityGroupRulesTable => ({
      id: randomUUID(),
      project_id: projectId,
      security_group_id: id,
      direction,
      ethertype,
      protocol: null,
      port_range_min: null,
      port_range_max: null,
      remote_ip_prefix: null,
      remote_group_id: remote,
      remote_address_group_id: null,
      description: '',
      revision_number: 0,
      created_at: stamp,
      updated_at: stamp,
    });
    await trx
      .insertInto('security_group_rules')
      .values([
        rule('egress', 'IPv4', null),
        rule('egress', 'IPv6', null),
        rule('ingress', 'IPv4', id),
        rule('ingress', 'IPv6', id),
      ])
      .execute();
    return id;
  });
}
