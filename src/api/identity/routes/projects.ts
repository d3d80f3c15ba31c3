/** /v3/projects: create, list, show, update, delete. */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { BadRequest, Forbidden, NotFound } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../authorize.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { queryFlag } from '../query.ts';
import { Description, Filter, IdParams, NoOptions, NoTags, NullableId, ProjectName } from '../schemas.ts';
import { deleteProjectCascade } from '../store/cascade.ts';
import { DEFAULT_DOMAIN_ID, getDomain } from '../store/domains.ts';
import { newIdentityId } from '../store/ids.ts';
import { getProject, hasChildProjects, insertProject, listProjects, updateProject } from '../store/projects.ts';
import { conflictOnDuplicate } from '../store/unique.ts';
import { callerToken } from '../subject-token.ts';
import { projectView } from '../views.ts';
import type { TokenService } from '../../auth/token-service.ts';

const CreateBody = Type.Object({
  project: Type.Object(
    {
      name: ProjectName,
      domain_id: Type.Optional(NullableId),
      parent_id: Type.Optional(NullableId),
      description: Type.Optional(Description),
      enabled: Type.Optional(Type.Boolean()),
      is_domain: Type.Optional(Type.Boolean()),
      tags: Type.Optional(NoTags),
      options: Type.Optional(NoOptions),
    },
    { additionalProperties: false },
  ),
});
const UpdateBody = Type.Object({
  project: Type.Object(
    {
      name: Type.Optional(ProjectName),
      description: Type.Optional(Description),
      enabled: Type.Optional(Type.Boolean()),
      tags: Type.Optional(NoTags),
      options: Type.Optional(NoOptions),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
});
const ListQuery = Type.Object({ name: Filter, domain_id: Filter, enabled: Filter, parent_id: Filter });

const duplicate = (name: string, domainId: string) =>
  `Conflict occurred attempting to store project: a project named '${name}' exists already in domain ${domainId}.`;

/** Without domain_id, the domain of a domain-scoped token, else the default domain (Keystone's rule). */
async function defaultDomainId(request: FastifyRequest, tokens: TokenService): Promise<string> {
  return (await callerToken(request, tokens)).domainId ?? DEFAULT_DOMAIN_ID;
}

export function registerProjectRoutes(app: ApiServer, deps: IdentityDeps): void {
  const { database, tokens } = deps;
  const db = database.db;
  const mustGet = async (id: string) => {
    const project = await getProject(db, id);
    if (!project) throw new NotFound(`Could not find project: ${id}.`);
    return project;
  };

  app.post('/v3/projects', { schema: { body: CreateBody } }, async (request, reply) => {
    authorize(request, 'create_project');
    const body = request.body.project;
    if (body.is_domain) throw new BadRequest('Projects acting as domains are not supported; create a domain.');
    const domainId = body.domain_id ?? (await defaultDomainId(request, tokens));
    if (!(await getDomain(db, domainId))) throw new NotFound(`Could not find domain: ${domainId}.`);
    let parentId: string | null = null;
    if (body.parent_id && body.parent_id !== domainId) {
      const parent = await getProject(db, body.parent_id);
      if (!parent) throw new NotFound(`Could not find project: ${body.parent_id}.`);
      if (parent.domain_id !== domainId) throw new BadRequest('A project must be in the same domain as its parent.');
      parentId = parent.id;
    }
    const project = await conflictOnDuplicate(
      () =>
        insertProject(db, {
          id: newIdentityId(),
          name: body.name,
          domain_id: domainId,
          description: body.description ?? null,
          enabled: body.enabled ?? true,
          parent_id: parentId,
        }),
      duplicate(body.name, domainId),
    );
    return reply.code(201).send({ project: projectView(v3Base(request), project) });
  });

  app.get('/v3/projects', { schema: { querystring: ListQuery } }, async (request) => {
    authorize(request, 'list_projects');
    const q = request.query;
    const projects = await listProjects(db, {
      name: q.name,
      domainId: q.domain_id,
      enabled: queryFlag(q.enabled),
      parentId: q.parent_id,
    });
    const base = v3Base(request);
    return { projects: projects.map((p) => projectView(base, p)), links: collectionLinks(request) };
  });

  app.get('/v3/projects/:id', { schema: { params: IdParams } }, async (request) => {
    authorize(request, 'get_project', { 'target.project.id': request.params.id });
    return { project: projectView(v3Base(request), await mustGet(request.params.id)) };
  });

  app.patch('/v3/projects/:id', { schema: { params: IdParams, body: UpdateBody } }, async (request) => {
    authorize(request, 'update_project');
    const project = await mustGet(request.params.id);
    const body = request.body.project;
    await conflictOnDuplicate(
      () =>
        updateProject(db, project.id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.enabled !== undefined ? { enabled: body.enabled ? 1 : 0 } : {}),
        }),
      duplicate(body.name ?? '', project.domain_id),
    );
    if (body.enabled === false) await tokens.revokeProject(project.id);
    // Cached validations carry the project name.
    await tokens.forget({ projectId: project.id });
    return { project: projectView(v3Base(request), await mustGet(project.id)) };
  });

  app.delete('/v3/projects/:id', { schema: { params: IdParams } }, async (request, reply) => {
    authorize(request, 'delete_project');
    const project = await mustGet(request.params.id);
    if (await hasChildProjects(db, project.id)) {
      throw new Forbidden(`Project ${project.id} has child projects; delete them first.`);
    }
    await tokens.revokeProject(project.id);
    await deleteProjectCascade(database, project.id);
    return reply.code(204).send();
  });
}
