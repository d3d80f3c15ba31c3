/** /v3/roles: create, list, show, update, delete. Roles are global (no domain-specific roles). */
import { Type } from 'typebox';
import { BadRequest, NotFound } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../authorize.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { Description, Filter, IdParams, NoOptions, NullableId, RoleName } from '../schemas.ts';
import { deleteRoleCascade } from '../store/cascade.ts';
import { newIdentityId } from '../store/ids.ts';
import { getRole, insertRole, listRoles } from '../store/roles.ts';
import { conflictOnDuplicate } from '../store/unique.ts';
import { roleView } from '../views.ts';

const RoleFields = {
  name: RoleName,
  description: Type.Optional(Description),
  domain_id: Type.Optional(NullableId),
  options: Type.Optional(NoOptions),
};
const CreateBody = Type.Object({ role: Type.Object(RoleFields, { additionalProperties: false }) });
const UpdateBody = Type.Object({
  role: Type.Object(
    { ...RoleFields, name: Type.Optional(RoleName) },
    { additionalProperties: false, minProperties: 1 },
  ),
});
const ListQuery = Type.Object({ name: Filter, domain_id: Filter });

const duplicate = (name: string) =>
  `Conflict occurred attempting to store role: a role named '${name}' exists already.`;

export function registerRoleRoutes(app: ApiServer, deps: IdentityDeps): void {
  const { database, tokens } = deps;
  const db = database.db;
  const mustGet = async (id: string) => {
    const role = await getRole(db, id);
    if (!role) throw new NotFound(`Could not find role: ${id}.`);
    return role;
  };
  const refuseDomainRole = (domainId: string | null | undefined) => {
    if (domainId) throw new BadRequest('Domain-specific roles are not supported; leave domain_id out.');
  };

  app.post('/v3/roles', { schema: { body: CreateBody } }, async (request, reply) => {
    authorize(request, 'create_role');
    const body = request.body.role;
    refuseDomainRole(body.domain_id);
    const role = await conflictOnDuplicate(
      () => insertRole(db, { id: newIdentityId(), name: body.name, description: body.description ?? null }),
      duplicate(body.name),
    );
    return reply.code(201).send({ role: roleView(v3Base(request), role) });
  });

  app.get('/v3/roles', { schema: { querystring: ListQuery } }, async (request) => {
    authorize(request, 'list_roles');
    // Every role is global: filtering on a domain finds none.
    const roles = request.query.domain_id ? [] : await listRoles(db, { name: request.query.name });
    const base = v3Base(request);
    return { roles: roles.map((r) => roleView(base, r)), links: collectionLinks(request) };
  });

  app.get('/v3/roles/:id', { schema: { params: IdParams } }, async (request) => {
    authorize(request, 'get_role');
    return { role: roleView(v3Base(request), await mustGet(request.params.id)) };
  });

  app.patch('/v3/roles/:id', { schema: { params: IdParams, body: UpdateBody } }, async (request) => {
    authorize(request, 'update_role');
    const role = await mustGet(request.params.id);
    const body = request.body.role;
    refuseDomainRole(body.domain_id);
    const changes = {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
    };
    if (Object.keys(changes).length) {
      await conflictOnDuplicate(
        () => db.updateTable('roles').set(changes).where('id', '=', role.id).execute(),
        duplicate(body.name ?? ''),
      );
    }
    // Cached validations carry role names, and policies match on them.
    await tokens.forget();
    return { role: roleView(v3Base(request), await mustGet(role.id)) };
  });

  app.delete('/v3/roles/:id', { schema: { params: IdParams } }, async (request, reply) => {
    authorize(request, 'delete_role');
    const role = await mustGet(request.params.id);
    await deleteRoleCascade(database, role.id);
    await tokens.forget();
    return reply.code(204).send();
  });
}
