/**
 * GET /v3/role_assignments, with Keystone's filters (user.id, role.id, scope.project.id, scope.domain.id),
 * `effective` (adds the roles the assigned ones imply) and `include_names`. Stratus has no groups, system
 * scope or inherited assignments, so filters on those match nothing.
 */
import { Type } from 'typebox';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../authorize.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { queryFlag } from '../query.ts';
import { Filter } from '../schemas.ts';
import { listAssignments, targetKindOf, type TargetKind } from '../store/assignments.ts';
import { assignmentNames, type AssignmentNames } from '../store/assignment-names.ts';
import { impliedRoleNames, listRoles, priorRoleName, type RoleRow } from '../store/roles.ts';

const Query = Type.Object({
  'user.id': Filter,
  'group.id': Filter,
  'role.id': Filter,
  'scope.project.id': Filter,
  'scope.domain.id': Filter,
  'scope.system': Filter,
  'scope.OS-INHERIT:inherited_to': Filter,
  effective: Filter,
  include_names: Filter,
});

interface Entry {
  userId: string;
  kind: TargetKind;
  targetId: string;
  roleId: string;
  /** For an implied role in an effective listing: the role that implies it. */
  priorRoleId?: string;
}

export function registerRoleAssignmentRoutes(app: ApiServer, deps: IdentityDeps): void {
  const db = deps.database.db;

  app.get('/v3/role_assignments', { schema: { querystring: Query } }, async (request) => {
    authorize(request, 'list_role_assignments');
    const q = request.query;
    const links = collectionLinks(request);
    if (
      q['group.id'] !== undefined ||
      q['scope.system'] !== undefined ||
      q['scope.OS-INHERIT:inherited_to'] !== undefined
    ) {
      return { role_assignments: [], links };
    }
    const effective = queryFlag(q.effective) === true;
    const rows = await listAssignments(db, {
      userId: q['user.id'],
      projectId: q['scope.project.id'],
      domainId: q['scope.domain.id'],
      // An effective listing filters on the role after adding implied roles.
      roleId: effective ? undefined : q['role.id'],
    });
    let entries: Entry[] = rows.flatMap((row) => {
      const kind = targetKindOf(row.type);
      return kind ? [{ userId: row.actor_id, kind, targetId: row.target_id, roleId: row.role_id }] : [];
    });
    const roles = await listRoles(db);
    if (effective) entries = withImpliedRoles(entries, roles).filter((e) => !q['role.id'] || e.roleId === q['role.id']);
    const names = queryFlag(q.include_names) ? await assignmentNames(db, entries) : null;
    const base = v3Base(request);
    return { role_assignments: entries.map((e) => render(base, e, names)), links };
  });
}

function withImpliedRoles(entries: Entry[], roles: readonly RoleRow[]): Entry[] {
  const byId = new Map(roles.map((r) => [r.id, r]));
  const byName = new Map(roles.map((r) => [r.name, r]));
  const seen = new Set<string>();
  const out: Entry[] = [];
  const add = (e: Entry) => {
    const key = `${e.userId}/${e.kind}/${e.targetId}/${e.roleId}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(e);
  };
  for (const entry of entries) add(entry);
  for (const entry of entries) {
    const name = byId.get(entry.roleId)?.name;
    if (name === undefined) continue;
    for (const impliedName of impliedRoleNames([name])) {
      const implied = byName.get(impliedName);
      const prior = byName.get(priorRoleName(impliedName) ?? '');
      if (implied) add({ ...entry, roleId: implied.id, ...(prior ? { priorRoleId: prior.id } : {}) });
    }
  }
  return out;
}

function render(base: string, e: Entry, names: AssignmentNames | null) {
  const user = names?.users.get(e.userId);
  const role = names?.roles.get(e.roleId);
  const target = e.kind === 'project' ? names?.projects.get(e.targetId) : names?.domains.get(e.targetId);
  return {
    role: { id: e.roleId, ...(role ? { name: role.name } : {}) },
    user: { id: e.userId, ...(user ? { name: user.name, domain: user.domain } : {}) },
    scope: { [e.kind]: { id: e.targetId, ...(target ?? {}) } },
    links: {
      assignment: `${base}/${e.kind}s/${e.targetId}/users/${e.userId}/roles/${e.roleId}`,
      ...(e.priorRoleId ? { prior_role: `${base}/roles/${e.priorRoleId}` } : {}),
    },
  };
}
