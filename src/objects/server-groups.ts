/**
 * Server groups (Nova's instance groups): a policy that places the group's servers together (affinity)
 * or apart (anti-affinity; with `max_server_per_host` at most that many on one host), strictly or, for
 * the soft policies, as a preference. Servers join a group when they are created with the `group`
 * scheduler hint; they are shown as members until they are deleted.
 *
 * The scheduler's ServerGroup(Anti)AffinityFilter reads a group with `getServerGroup` and where its
 * members already run with `hostsOfGroupMembers` / `memberCountsByHost`.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { now, type InstanceGroupsTable, type Schema } from '../common/db/schema.ts';
import { NotFound } from '../common/errors.ts';

export const SERVER_GROUP_POLICIES = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'] as const;
export type ServerGroupPolicy = (typeof SERVER_GROUP_POLICIES)[number];

export interface ServerGroupRules {
  /** anti-affinity only: how many of the group's servers one host may have (1 when unset). */
  max_server_per_host?: number;
}

export interface ServerGroup {
  readonly id: number;
  readonly uuid: string;
  readonly name: string;
  readonly user_id: string;
  readonly project_id: string;
  readonly policy: ServerGroupPolicy;
  readonly rules: Readonly<ServerGroupRules>;
  readonly created_at: string;
  readonly updated_at: string | null;
  /** uuids of the members that are not deleted, in the order they joined. */
  readonly members: readonly string[];
}

export interface NewServerGroup {
  name: string;
  userId: string;
  projectId: string;
  policy: ServerGroupPolicy;
  rules?: ServerGroupRules;
}

type Executor = Db | Transaction<Schema>;
type Row = Omit<InstanceGroupsTable, 'id'> & { id: number };

async function membersOf(db: Executor, groupIds: number[]): Promise<Map<number, string[]>> {
  const result = new Map<number, string[]>(groupIds.map((id) => [id, []]));
  if (!groupIds.length) return result;
  const rows = await db
    .selectFrom('instance_group_members as m')
    .innerJoin('instances as i', 'i.uuid', 'm.instance_uuid')
    .select(['m.group_id as group_id', 'm.instance_uuid as instance_uuid'])
    .where('m.group_id', 'in', groupIds)
    .where('i.deleted', '=', 0)
    .orderBy('m.id')
    .execute();
  for (const row of rows) result.get(row.group_id)!.push(row.instance_uuid);
  return result;
}

async function withMembers(db: Executor, rows: Row[]): Promise<ServerGroup[]> {
  const members = await membersOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) => ({
    ...row,
    policy: row.policy as ServerGroupPolicy,
    rules: JSON.parse(row.rules) as ServerGroupRules,
    members: members.get(row.id) ?? [],
  }));
}

export async function createServerGroup(db: Db, input: NewServerGroup): Promise<ServerGroup> {
  const uuid = randomUUID();
  await db
    .insertInto('instance_groups')
    .values({
      uuid,
      name: input.name,
      user_id: input.userId,
      project_id: input.projectId,
      policy: input.policy,
      rules: JSON.stringify(input.rules ?? {}),
      created_at: now(),
      updated_at: null,
    })
    .execute();
  return getServerGroup(db, uuid, null);
}

/** The group, or null; `projectId` (null: any project) limits it to one project's groups. */
export async function findServerGroup(
  db: Executor,
  uuid: string,
  projectId: string | null,
): Promise<ServerGroup | null> {
  let query = db.selectFrom('instance_groups').selectAll().where('uuid', '=', uuid);
  if (projectId !== null) query = query.where('project_id', '=', projectId);
  const row = await query.executeTakeFirst();
  return row ? ((await withMembers(db, [row]))[0] ?? null) : null;
}

/** As findServerGroup, with Nova's InstanceGroupNotFound when there is none. */
export async function getServerGroup(db: Executor, uuid: string, projectId: string | null): Promise<ServerGroup> {
  const group = await findServerGroup(db, uuid, projectId);
  if (!group) throw new NotFound(`Instance group ${uuid} could not be found.`);
  return group;
}

export interface ServerGroupFilter {
  /** null: every project. */
  projectId: string | null;
  limit?: number;
  offset?: number;
}

/** Groups oldest first, as Nova lists them. */
export async function listServerGroups(db: Db, filter: ServerGroupFilter): Promise<ServerGroup[]> {
  let query = db.selectFrom('instance_groups').selectAll().orderBy('id');
  if (filter.projectId !== null) query = query.where('project_id', '=', filter.projectId);
  // MariaDB takes OFFSET only after a LIMIT.
  if (filter.limit !== undefined || filter.offset) {
    query = query.limit(filter.limit ?? 2_147_483_647).offset(filter.offset ?? 0);
  }
  return withMembers(db, await query.execute());
}

export async function deleteServerGroup(db: Db, uuid: string, projectId: string | null): Promise<void> {
  const group = await getServerGroup(db, uuid, projectId);
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('instance_group_members').where('group_id', '=', group.id).execute();
    await trx.deleteFrom('instance_groups').where('id', '=', group.id).execute();
  });
}

/** Makes instances members of the group (inside the transaction that creates them, for a build). */
export async function addServerGroupMembers(
  db: Executor,
  groupId: number,
  instanceUuids: readonly string[],
): Promise<void> {
  if (!instanceUuids.length) return;
  const createdAt = now();
  await db
    .insertInto('instance_group_members')
    .values(instanceUuids.map((instance_uuid) => ({ group_id: groupId, instance_uuid, created_at: createdAt })))
    .execute();
}

/** The group an instance is a member of, if any. */
export async function serverGroupOfInstance(db: Db, instanceUuid: string): Promise<ServerGroup | null> {
  const row = await db
    .selectFrom('instance_groups as g')
    .innerJoin('instance_group_members as m', 'm.group_id', 'g.id')
    .selectAll('g')
    .where('m.instance_uuid', '=', instanceUuid)
    .executeTakeFirst();
  return row ? ((await withMembers(db, [row]))[0] ?? null) : null;
}

/**
 * How many of the group's live members each host runs (members not placed yet are left out);
 * `exclude` leaves out some members, such as the instances being scheduled.
 */
export async function memberCountsByHost(
  db: Db,
  groupUuid: string,
  exclude: readonly string[] = [],
): Promise<Map<string, number>> {
  let query = db
    .selectFrom('instance_group_members as m')
    .innerJoin('instance_groups as g', 'g.id', 'm.group_id')
    .innerJoin('instances as i', 'i.uuid', 'm.instance_uuid')
    .select(['i.host as host', (eb) => eb.fn.countAll<number>().as('n')])
    .where('g.uuid', '=', groupUuid)
    .where('i.deleted', '=', 0)
    .where('i.host', 'is not', null)
    .groupBy('i.host');
  if (exclude.length) query = query.where('m.instance_uuid', 'not in', [...exclude]);
  const rows = await query.execute();
  return new Map(rows.map((r) => [r.host!, Number(r.n)]));
}

/** The hosts the group's live members run on, sorted (Nova's InstanceGroup.get_hosts). */
export async function hostsOfGroupMembers(
  db: Db,
  groupUuid: string,
  exclude: readonly string[] = [],
): Promise<string[]> {
  return [...(await memberCountsByHost(db, groupUuid, exclude)).keys()].sort();
}
