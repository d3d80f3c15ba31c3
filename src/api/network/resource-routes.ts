/**
 * The five routes of a Neutron resource (list, show, create, update, delete) with the behaviour every
 * resource shares: the body parsed against the resource's attribute specs, the owning project of a new
 * resource (projectOfNew), `fields` on show, the list query, 201 on create and 204 on delete. A module
 * hands over what is its own: the service calls and, for lists, anything to do first.
 */
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../common/context.ts';
import type { Db } from '../../common/db/database.ts';
import type { ApiServer } from '../http/create-server.ts';
import { parseResourceBody, type AttributeSpecs } from './attributes.ts';
import { listResponse, showFields } from './list-query.ts';
import { projectOfNew } from './policy.ts';
import { TAG_FILTERS, withTags } from './tags.ts';

type Attrs = Record<string, unknown>;

export interface ResourceRoutes<R extends object> {
  /** The singular key of bodies (`security_group`). */
  member: string;
  /** The plural key of list bodies (`security_groups`). */
  collection: string;
  /** The URL (`/v2.0/security-groups`). */
  path: string;
  specs: AttributeSpecs;
  notFound: (id: string) => Error;
  /** For a resource with Neutron tags: where they are read, to show them and filter lists by them. */
  tagsFrom?: Db;
  /** Runs before a list is read (Neutron makes the default security group there). */
  beforeList?: (request: FastifyRequest) => Promise<void>;
  list(ctx: RequestContext): Promise<R[]>;
  get(ctx: RequestContext, id: string): Promise<R>;
  /** `attrs` as parsed, with `project_id` resolved. */
  create(ctx: RequestContext, attrs: Attrs & { project_id: string }): Promise<R>;
  /** Absent for resources Neutron never updates (security group rules). */
  update?: (ctx: RequestContext, id: string, attrs: Attrs) => Promise<R>;
  remove(ctx: RequestContext, id: string): Promise<void>;
}

type IdParams = { Params: { id: string } };

export function registerResourceRoutes<R extends object>(app: ApiServer, r: ResourceRoutes<R>): void {
  const tagsFrom = r.tagsFrom;
  const shown = async (records: R[]): Promise<Attrs[]> =>
    (tagsFrom ? await withTags(tagsFrom, records) : records) as Attrs[];
  const one = async (record: R): Promise<Attrs> => (await shown([record]))[0]!;
  const options = {
    collection: r.collection,
    markerNotFound: r.notFound,
    ...(tagsFrom ? { extraFilters: TAG_FILTERS } : {}),
  };
  app.get(r.path, async (request) => {
    if (r.beforeList) {
      // The query is checked on what exists first: a refused list makes nothing (not the default group).
      listResponse(request, await shown(await r.list(request.ctx)), options);
      await r.beforeList(request);
    }
    return listResponse(request, await shown(await r.list(request.ctx)), options);
  });
  app.get<IdParams>(`${r.path}/:id`, async (request) => ({
    [r.member]: showFields(request, await one(await r.get(request.ctx, request.params.id))),
  }));
  app.post(r.path, async (request, reply) => {
    const attrs = parseResourceBody(r.member, request.body, r.specs, 'POST');
    const created = await r.create(request.ctx, { ...attrs, project_id: projectOfNew(request.ctx, attrs) });
    return reply.code(201).send({ [r.member]: await one(created) });
  });
  const update = r.update;
  if (update) {
    app.put<IdParams>(`${r.path}/:id`, async (request) => {
      const attrs = parseResourceBody(r.member, request.body, r.specs, 'PUT');
      return { [r.member]: await one(await update(request.ctx, request.params.id, attrs)) };
    });
  }
  app.delete<IdParams>(`${r.path}/:id`, async (request, reply) => {
    await r.remove(request.ctx, request.params.id);
    return reply.code(204).send();
  });
}
