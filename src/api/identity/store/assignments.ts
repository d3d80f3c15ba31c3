/**
 * Role assignments of users on projects and domains (Keystone's UserProject and UserDomain types), and
 * the effective roles a token carries: the assigned ones plus those they imply.
 */
import type { Selectable } from 'kysely';
import type { Db } from '../../../common/db/database.ts';
import type { RoleAssignmentsTable } from '../../../common/db/schema.ts';
import { impliedRoleNames, listRoles, type RoleRow } from './roles.ts';
import { isUniqueViolation } from './unique.ts';

export type AssignmentRow = Selectable<RoleAssignmentsTable>;

export type TargetKind = 'project' | 'domain';

export interface Target {
  kind: TargetKind;
  id: string;
}

const TYPE: Record<TargetKind, string> = { project: 'UserProject', domain: 'UserDomain' };

export function targetKindOf(type: string): TargetKind | undefined {
  return type === TYPE.project ? 'project' : type === TYPE.domain ? 'domain' : undefined;
}

/** Adds the assignment; granting one that exists is not an error (PUT is idempotent). */
export async function grantRole(db: Db, userId: string, target: Target, roleId: string): Promise<void> {
  try {
    await db
      .insertInto('role_assignments')
      .values({ type: TYPE[target.kind], actor_id: userId, target_id: target.id, role_id: roleId })
      .execute();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
}

/** Removes the assignment; false when there was none. */
export async function revokeRole(db: Db, userId: string, target: Target, roleId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('role_assignments')
    .where('type', '=', TYPE[target.kind])
    .where('actor_id', '=', userId)
    .where('target_id', '=', target.id)
    .where('role_id', '=', roleId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function hasRole(db: Db, userId: string, target: Target, roleId: string): Promise<boolean> {
  const row = await db
    .selectFrom('role_assignments')
    .select('id')
    .where('type', '=', TYPE[target.kind])
    .where('actor_id', '=', userId)
    .where('target_id', '=', target.id)
    .where('role_id', '=', roleId)
    .executeTakeFirst();
  return row !== undefined;
}

/** The roles assigned to the user on the target, without implied ones. */
export function assignedRoles(db: Db, userId: string, target: Target): Promise<RoleRow[]> {
  return db
    .selectFrom('role_assignments')
    .innerJoin('roles', 'roles.id', 'role_assignments.role_id')
    .selectAll('roles')
    .where('role_assignments.type', '=', TYPE[target.kind])
    .where('role_assignments.actor_id', '=', userId)
    .where('role_assignments.target_id', '=', target.id)
    .orderBy('roles.name')
    .execute();
}

/** The roles a token scoped to the target carries: assigned ones, then the ones they imply. */
export async function effectiveRoles(db: Db, userId: string, target: Target): Promise<RoleRow[]> {
  const assigned = await assignedRoles(db, userId, target);
  return [...assigned, ...(await listRoles(db, { names: impliedRoleNames(assigned.map((r) => r.name)) }))];
}

export interface AssignmentFilter {
  userId?: string;
  roleId?: string;
  projectId?: string;
  domainId?: string;
}

export function listAssignments(db: Db, filter: AssignmentFilter): Promise<AssignmentRow[]> {
  let query = db.selectFrom('role_assignments').selectAll();
  if (filter.userId !== undefined) query = query.where('actor_id', '=', filter.userId);
  if (filter.roleId !== undefined) query = query.where('role_id', '=', filter.roleId);
  if (filter.projectId !== undefined) {
    query = query.where('type', '=', TYPE.project).where('target_id', '=', filter.projectId);
  }
  if (filter.domainId !== undefined) {
    query = query.where('type', '=', TYPE.domain).where('target_id', '=', filter.domainId);
  }
  return query.orderBy('id').execute();
}

/** Ids of the targets of one kind on which the user holds any role. */
export async function targetsOfUser(db: Db, userId: string, kind: TargetKind): Promise<string[]> {
  const rows = await db
    .selectFrom('role_assignments')
    .select('target_id')
    .distinct()
    .where('type', '=', TYPE[kind])
    .where('actor_id', '=', userId)
    .execute();
  return rows.map((r) => r.target_id);
}

export async function deleteAssignmentsOfUser(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('role_assignments').where('actor_id', '=', userId).execute();
}

export async function deleteAssignmentsOnTarget(db: Db, target: Target): Promise<void> {
  await db
    .deleteFrom('role_assignments')
    .where('type', '=', TYPE[target.kind])
    .where('target_id', '=', target.id)
    .execute();
}

export async function deleteAssignmentsOfRole(db: Db, roleId: string): Promise<void> {
  await db.deleteFrom('role_assignments').where('role_id', '=', roleId).execute();
}
