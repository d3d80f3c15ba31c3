/** /v3/users: create, list, show, update, delete; plus a user's own password change and project list. */
import { Type } from 'typebox';
import { NotFound, Unauthorized } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { hashPassword, verifyPassword } from '../../auth/password-hash.ts';
import { forbidden, authorize, authorizeOnUser } from '../authorize.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { queryFlag } from '../query.ts';
import { Description, Filter, IdParams, NoOptions, NullableId, UserName } from '../schemas.ts';
import { targetsOfUser } from '../store/assignments.ts';
import { deleteUserCascade } from '../store/cascade.ts';
import { DEFAULT_DOMAIN_ID, getDomain } from '../store/domains.ts';
import { newIdentityId } from '../store/ids.ts';
import { listProjects } from '../store/projects.ts';
import { conflictOnDuplicate } from '../store/unique.ts';
import { getUser, insertUser, listUsers, updateUser } from '../store/users.ts';
import { callerToken } from '../subject-token.ts';
import { projectView, userView } from '../views.ts';

/** Passwords are bounded so a huge one cannot make hashing a denial of service. */
const Password = Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 4096 });
const Email = Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 255 });

const UserFields = {
  name: UserName,
  domain_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  password: Type.Optional(Password),
  enabled: Type.Optional(Type.Boolean()),
  email: Type.Optional(Email),
  description: Type.Optional(Description),
  default_project_id: Type.Optional(NullableId),
  options: Type.Optional(NoOptions),
};
const CreateBody = Type.Object({ user: Type.Object(UserFields, { additionalProperties: false }) });
const { domain_id: _domainId, ...updatable } = UserFields;
const UpdateBody = Type.Object({
  user: Type.Object({ ...updatable, name: Type.Optional(UserName) }, { additionalProperties: false, minProperties: 1 }),
});
const PasswordBody = Type.Object({
  user: Type.Object(
    { password: Type.String({ maxLength: 4096 }), original_password: Type.String({ maxLength: 4096 }) },
    { additionalProperties: false },
  ),
});
const ListQuery = Type.Object({ name: Filter, domain_id: Filter, enabled: Filter });

const duplicate = (name: string, domainId: string) =>
  `Conflict occurred attempting to store user: a user named '${name}' exists already in domain ${domainId}.`;

export function registerUserRoutes(app: ApiServer, deps: IdentityDeps): void {
  const { database, tokens, config } = deps;
  const rounds = config.identity.password_hash_rounds;
  const db = database.db;
  const mustGet = async (id: string) => {
    const user = await getUser(db, id);
    if (!user) throw new NotFound(`Could not find user: ${id}.`);
    return user;
  };
  const passwordHash = (password: string | null | undefined) =>
    password === undefined || password === null ? Promise.resolve(null) : hashPassword(password, rounds);

  app.post('/v3/users', { schema: { body: CreateBody } }, async (request, reply) => {
    authorize(request, 'create_user');
    const body = request.body.user;
    // Keystone's rule: the domain of a domain-scoped token, else the default domain.
    const domainId = body.domain_id ?? (await callerToken(request, tokens)).domainId ?? DEFAULT_DOMAIN_ID;
    if (!(await getDomain(db, domainId))) throw new NotFound(`Could not find domain: ${domainId}.`);
    const hash = await passwordHash(body.password);
    const user = await conflictOnDuplicate(
      () =>
        insertUser(db, {
          id: newIdentityId(),
          name: body.name,
          domain_id: domainId,
          password_hash: hash,
          enabled: body.enabled ?? true,
          email: body.email ?? null,
          description: body.description ?? null,
          default_project_id: body.default_project_id ?? null,
        }),
      duplicate(body.name, domainId),
    );
    return reply.code(201).send({ user: userView(v3Base(request), user) });
  });

  app.get('/v3/users', { schema: { querystring: ListQuery } }, async (request) => {
    authorize(request, 'list_users');
    const q = request.query;
    const users = await listUsers(db, { name: q.name, domainId: q.domain_id, enabled: queryFlag(q.enabled) });
    const base = v3Base(request);
    return { users: users.map((u) => userView(base, u)), links: collectionLinks(request) };
  });

  app.get('/v3/users/:id', { schema: { params: IdParams } }, async (request) => {
    authorizeOnUser(request, request.params.id, 'get_user');
    return { user: userView(v3Base(request), await mustGet(request.params.id)) };
  });

  app.patch('/v3/users/:id', { schema: { params: IdParams, body: UpdateBody } }, async (request) => {
    authorize(request, 'update_user');
    const user = await mustGet(request.params.id);
    const body = request.body.user;
    const hash = body.password !== undefined ? await passwordHash(body.password) : undefined;
    await conflictOnDuplicate(
      () =>
        updateUser(db, user.id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(hash !== undefined ? { password_hash: hash } : {}),
          ...(body.enabled !== undefined ? { enabled: body.enabled ? 1 : 0 } : {}),
          ...(body.email !== undefined ? { email: body.email } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.default_project_id !== undefined ? { default_project_id: body.default_project_id } : {}),
        }),
      duplicate(body.name ?? '', user.domain_id),
    );
    // A new password or a disabled account ends every session, as in Keystone.
    if (hash !== undefined || body.enabled === false) await tokens.revokeUser(user.id);
    else await tokens.forget({ userId: user.id });
    return { user: userView(v3Base(request), await mustGet(user.id)) };
  });

  app.delete('/v3/users/:id', { schema: { params: IdParams } }, async (request, reply) => {
    authorize(request, 'delete_user');
    const user = await mustGet(request.params.id);
    await tokens.revokeUser(user.id);
    await deleteUserCascade(database, user.id);
    return reply.code(204).send();
  });

  app.post('/v3/users/:id/password', { schema: { params: IdParams, body: PasswordBody } }, async (request, reply) => {
    if (request.ctx.userId !== request.params.id) throw forbidden('change_password');
    const user = await mustGet(request.params.id);
    const body = request.body.user;
    if (user.password_hash === null || !(await verifyPassword(body.original_password, user.password_hash))) {
      throw new Unauthorized('The original password is not correct.');
    }
    await updateUser(db, user.id, { password_hash: await hashPassword(body.password, rounds) });
    await tokens.revokeUser(user.id);
    return reply.code(204).send();
  });

  app.get('/v3/users/:id/projects', { schema: { params: IdParams } }, async (request) => {
    authorizeOnUser(request, request.params.id, 'list_user_projects');
    const user = await mustGet(request.params.id);
    const projects = await listProjects(db, { ids: await targetsOfUser(db, user.id, 'project') });
    const base = v3Base(request);
    return { projects: projects.map((p) => projectView(base, p)), links: collectionLinks(request) };
  });
}
