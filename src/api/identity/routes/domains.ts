/** /v3/domains: list, show, create, update, delete. */
import { Type } from 'typebox';
import { Forbidden, NotFound } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../authorize.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { queryFlag } from '../query.ts';
import { Description, DomainName, Filter, IdParams, NoOptions, NoTags } from '../schemas.ts';
import { deleteDomainCascade } from '../store/cascade.ts';
import { getDomain, insertDomain, listDomains, updateDomain } from '../store/domains.ts';
import { newIdentityId } from '../store/ids.ts';
import { conflictOnDuplicate } from '../store/unique.ts';
import { callerToken } from '../subject-token.ts';
import { domainView } from '../views.ts';

const DomainFields = {
  name: DomainName,
  description: Type.Optional(Description),
  enabled: Type.Optional(Type.Boolean()),
  tags: Type.Optional(NoTags),
  options: Type.Optional(NoOptions),
};
const CreateBody = Type.Object({
  domain: Type.Object(
    {
      ...DomainFields,
      explicit_domain_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9-]+$' })),
    },
    { additionalProperties: false },
  ),
});
const UpdateBody = Type.Object({
  domain: Type.Object(
    { ...DomainFields, name: Type.Optional(DomainName) },
    { additionalProperties: false, minProperties: 1 },
  ),
});
const ListQuery = Type.Object({ name: Filter, enabled: Filter });

export function registerDomainRoutes(app: ApiServer, deps: IdentityDeps): void {
  const { database, tokens } = deps;
  const db = database.db;
  const duplicate = (name: string) =>
    `Conflict occurred attempting to store domain: a domain named '${name}' exists already.`;
  const mustGet = async (id: string) => {
    const domain = await getDomain(db, id);
    if (!domain) throw new NotFound(`Could not find domain: ${id}.`);
    return domain;
  };

  app.get('/v3/domains', { schema: { querystring: ListQuery } }, async (request) => {
    authorize(request, 'list_domains');
    const { name, enabled } = request.query;
    const domains = await listDomains(db, { name, enabled: queryFlag(enabled) });
    const base = v3Base(request);
    return { domains: domains.map((d) => domainView(base, d)), links: collectionLinks(request) };
  });

  app.get('/v3/domains/:id', { schema: { params: IdParams } }, async (request) => {
    // By default a user may read the domains its token names: its own and its project's.
    const token = await callerToken(request, tokens);
    authorize(
      request,
      'get_domain',
      { 'target.domain.id': request.params.id },
      {
        token: {
          user: { domain: { id: token.userDomainId } },
          project: { domain: { id: token.projectDomainId } },
          domain: { id: token.domainId },
        },
      },
    );
    return { domain: domainView(v3Base(request), await mustGet(request.params.id)) };
  });

  app.post('/v3/domains', { schema: { body: CreateBody } }, async (request, reply) => {
    authorize(request, 'create_domain');
    const body = request.body.domain;
    const domain = await conflictOnDuplicate(
      () =>
        insertDomain(db, {
          id: body.explicit_domain_id ?? newIdentityId(),
          name: body.name,
          description: body.description ?? null,
          enabled: body.enabled ?? true,
        }),
      duplicate(body.name),
    );
    return reply.code(201).send({ domain: domainView(v3Base(request), domain) });
  });

  app.patch('/v3/domains/:id', { schema: { params: IdParams, body: UpdateBody } }, async (request) => {
    authorize(request, 'update_domain');
    const id = request.params.id;
    await mustGet(id);
    const body = request.body.domain;
    await conflictOnDuplicate(
      () =>
        updateDomain(db, id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.enabled !== undefined ? { enabled: body.enabled ? 1 : 0 } : {}),
        }),
      duplicate(body.name ?? ''),
    );
    if (body.enabled === false) await tokens.revokeDomain(id);
    // Cached validations carry domain names.
    await tokens.forget();
    return { domain: domainView(v3Base(request), await mustGet(id)) };
  });

  app.delete('/v3/domains/:id', { schema: { params: IdParams } }, async (request, reply) => {
    authorize(request, 'delete_domain');
    const domain = await mustGet(request.params.id);
    if (domain.enabled) throw new Forbidden(`Domain ${domain.id} is enabled; disable it before deleting it.`);
    await tokens.revokeDomain(domain.id);
    await deleteDomainCascade(database, domain.id);
    return reply.code(204).send();
  });
}
