/** Roles, and the implications between the default ones. */
import type { Selectable } from 'kysely';
import type { Db } from '../../../common/db/database.ts';
import { now, type RolesTable } from '../../../common/db/schema.ts';

export type RoleRow = Selectable<RolesTable>;

/**
 * The implied roles `keystone-manage bootstrap` sets up: admin implies member, member implies reader. A
 * token carries the implied roles too, so a policy asking for `member` is satisfied by `admin`.
 */
// A Map: role names are an admin's choice, and one named `constructor` must not find Object's members.
const IMPLIES: ReadonlyMap<string, readonly string[]> = new Map([
  ['admin', ['member']],
  ['member', ['reader']],
]);

/** Names implied by `names`, transitively, excluding `names` themselves. */
export function impliedRoleNames(names: Iterable<string>): string[] {
  const have = new Set(names);
  const found: string[] = [];
  const queue = [...have];
  while (queue.length) {
    for (const next of IMPLIES.get(queue.shift()!) ?? []) {
      if (have.has(next)) continue;
      have.add(next);
      found.push(next);
      queue.push(next);
    }
  }
  return found;
}

/** The role that implies `name` directly, for the prior_role link of an effective assignment. */
export function priorRoleName(name: string): string | undefined {
  return [...IMPLIES].find(([, implied]) => implied.includes(name))?.[0];
}

export function getRole(db: Db, id: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findRoleByName(db: Db, name: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();
}

export function listRoles(db: Db, filter: { name?: string; names?: readonly string[] } = {}): Promise<RoleRow[]> {
  if (filter.names && filter.names.length === 0) return Promise.resolve([]);
  let query = db.selectFrom('roles').selectAll();
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  if (filter.names) query = query.where('name', 'in', [...filter.names]);
  return query.orderBy('name').execute();
}

export async function insertRole(
  db: Db,
  fields: { id: string; name: string; description: string | null },
): Promise<RoleRow> {
  const row: RoleRow = { ...fields, domain_id: null, created_at: now() };
  await db.insertInto('roles').values(row).execute();
  return row;
}

export async function deleteRole(db: Db, id: string): Promise<void> {
  await db.deleteFrom('roles').where('id', '=', id).execute();
}
