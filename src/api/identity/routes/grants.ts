/**
 * Role grants on a project or a domain:
 * PUT/HEAD/DELETE /v3/{projects|domains}/{target}/users/{user}/roles/{role}, and
 * GET /v3/{projects|domains}/{target}/users/{user}/roles.
 */
import { Type } from 'typebox';
import { NotFound } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../authorize.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { assignedRoles, grantRole, hasRole, revokeRole, type Target, type TargetKind } from '../store/assignments.ts';
import { getDomain } from '../store/domains.ts';
import { getProject } from '../store/projects.ts';
import { getRole } from '../store/roles.ts';
import { getUser } from '../store/users.ts';
import { roleView } from '../views.ts';

const GrantParams = Type.Object({ target: Type.String(), user: Type.String(), role: Type.String() });
const ListParams = Type.Object({ target: Type.String(), user: Type.String() });

export function registerGrantRoutes(app: ApiServer, deps: IdentityDeps): void {
  for (const kind of ['project', 'domain'] as const) registerFor(app, deps, kind);
}

function registerFor(app: ApiServer, deps: IdentityDeps, kind: TargetKind): void {
  const { tokens } = deps;
  const db = deps.database.db;
  const prefix = `/v3/${kind}s/:target/users/:user/roles`;

  /** 404 naming the first of target, user, role that does not exist. */
  const mustExist = async (params: { target: string; user: string; role?: string }): Promise<Target> => {
    const target = kind === 'project' ? await getProject(db, params.target) : await getDomain(db, params.target);
    if (!target) throw new NotFound(`Could not find ${kind}: ${params.target}.`);
    if (!(await getUser(db, params.user))) throw new NotFound(`Could not find user: ${params.user}.`);
    if (params.role !== undefined && !(await getRole(db, params.role))) {
      throw new NotFound(`Could not find role: ${params.role}.`);
    }
    return { kind, id: params.target };
  };
  /** Cached validations of the user's tokens on the target carry its roles. */
  const forget = (userId: string, targetId: string) =>
    tokens.forget(kind === 'project' ? { userId, projectId: targetId } : { userId, domainId: targetId });
  const notAssigned = (p: { target: string; user: string; role: string }) =>
    new NotFound(`Could not find role assignment with role: ${p.role}, user: ${p.user}, ${kind}: ${p.target}.`);

  app.put(`${prefix}/:role`, { schema: { params: GrantParams } }, async (request, reply) => {
    authorize(request, `create_grant`);
    const p = request.params;
    await grantRole(db, p.user, await mustExist(p), p.role);
    await forget(p.user, p.target);
    return reply.code(204).send();
  });

  app.head(`${prefix}/:role`, { schema: { params: GrantParams } }, async (request, reply) => {
    authorize(request, 'check_grant');
    const p = request.params;
    if (!(await hasRole(db, p.user, await mustExist(p), p.role))) throw notAssigned(p);
    return reply.code(204).send();
  });

  app.delete(`${prefix}/:role`, { schema: { params: GrantParams } }, async (request, reply) => {
    authorize(request, 'revoke_grant');
    const p = request.params;
    if (!(await revokeRole(db, p.user, await mustExist(p), p.role))) throw notAssigned(p);
    await forget(p.user, p.target);
    return reply.code(204).send();
  });

  app.get(prefix, { schema: { params: ListParams } }, async (request) => {
    authorize(request, 'list_grants');
    const p = request.params;
    const roles = await assignedRoles(db, p.user, await mustExist(p));
    const base = v3Base(request);
    return { roles: roles.map((r) => roleView(base, r)), links: collectionLinks(request) };
  });
}
