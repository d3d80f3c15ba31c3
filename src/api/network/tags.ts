/**
 * Neutron's tag API (standard-attr-tag): `/v2.0/{resource_type}/{id}/tags[/{tag}]` on networks, subnets,
 * ports, routers, floating IPs and security groups, with POST adding several at once (tag-creation);
 * `tags` in those resources' bodies, given on create only for ports (as Neutron's port attribute
 * allows; its tag-ports-during-bulk-creation alias is not listed, since Stratus has no bulk port create),
 * read-only elsewhere as in Neutron; and the list
 * filters `tags` (all of), `tags-any` (any of), `not-tags` (not all of) and `not-tags-any` (none of),
 * each a comma-separated list. A resource the caller cannot see is its usual 404; changing tags takes
 * the resource's owner or an admin, as Neutron's default policy.
 */
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../common/context.ts';
import type { Db } from '../../common/db/database.ts';
import { policyRefused } from '../../network/errors.ts';
import { getFloatingIp } from '../../network/floating-ips.ts';
import { getNetwork } from '../../network/networks.ts';
import { getPort } from '../../network/ports.ts';
import { getRouter } from '../../network/routers.ts';
import { getSecurityGroup } from '../../network/security-groups.ts';
import { getSubnet } from '../../network/subnets.ts';
import {
  addTag,
  addTags,
  checkHasTag,
  checkTag,
  checkTagsBody,
  removeTag,
  replaceTags,
  tagListProblem,
  tagsOf,
  type TaggedTable,
} from '../../network/tags.ts';
import type { AttributeSpec } from './attributes.ts';
import type { ApiServer } from '../http/create-server.ts';
import type { NetworkApiDeps } from './deps.ts';
import { listResponse, type ListOptions } from './list-query.ts';
import type { NetworkApiModule } from './module.ts';

type View = Record<string, unknown>;

/** A resource with tags: its URL segment, table, name in messages and policy rules, and its lookup. */
interface TaggedResource {
  path: string;
  table: TaggedTable;
  /** Neutron's resource name in TagNotFound (`network`, `floatingip`). */
  name: string;
  get(db: Db, ctx: RequestContext, id: string): Promise<{ project_id: string }>;
}

const TAGGED: readonly TaggedResource[] = [
  { path: 'networks', table: 'networks', name: 'network', get: getNetwork },
  { path: 'subnets', table: 'subnets', name: 'subnet', get: getSubnet },
  { path: 'ports', table: 'ports', name: 'port', get: getPort },
  { path: 'routers', table: 'routers', name: 'router', get: getRouter },
  { path: 'floatingips', table: 'floating_ips', name: 'floatingip', get: getFloatingIp },
  { path: 'security-groups', table: 'security_groups', name: 'security_group', get: getSecurityGroup },
];

function tagList(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).filter((t) => t !== '');
}

const has = (view: View, tag: string) => (view['tags'] as string[]).includes(tag);

/** The four tag filters of Neutron's list query, over views that carry `tags`. */
export const TAG_FILTERS: NonNullable<ListOptions['extraFilters']> = {
  tags: (view, values) => tagList(values).every((t) => has(view, t)),
  'tags-any': (view, values) => tagList(values).some((t) => has(view, t)),
  'not-tags': (view, values) => !tagList(values).every((t) => has(view, t)),
  'not-tags-any': (view, values) => !tagList(values).some((t) => has(view, t)),
};

/** The views with their `tags`, read in one query. */
export async function withTags<V extends object>(db: Db, views: readonly V[]): Promise<(V & { tags: string[] })[]> {
  const tags = await tagsOf(
    db,
    views.map((v) => (v as { id: string }).id),
  );
  return views.map((v) => ({ ...v, tags: tags.get((v as { id: string }).id) ?? [] }));
}

/** One view with its `tags`. */
export async function withTagsOne<V extends object>(db: Db, view: V): Promise<V & { tags: string[] }> {
  return (await withTags(db, [view]))[0]!;
}

/** listResponse over tagged views, with the tag filters. */
export async function taggedListResponse(
  request: FastifyRequest,
  db: Db,
  views: readonly object[],
  options: ListOptions,
): Promise<Record<string, unknown>> {
  return listResponse(request, await withTags(db, views), {
    ...options,
    extraFilters: { ...TAG_FILTERS, ...options.extraFilters },
  });
}

/** `tags` in the body of a resource that takes them only through the tag API (Neutron: read-only). */
export const TAGS_READ_ONLY: AttributeSpec = { allowPost: false, allowPut: false };

/** `tags` on a port's create: a list of unique tags, checked as the tag API checks one. */
export const TAGS_ON_CREATE: AttributeSpec = {
  allowPost: true,
  allowPut: false,
  convert: (value) => {
    const problem = tagListProblem(value);
    return problem === null ? { ok: true, value } : { ok: false, reason: problem };
  },
};

type TagParams = { Params: { id: string; tag?: string } };

function register(app: ApiServer, { database }: NetworkApiDeps): void {
  const db = database.db;
  for (const resource of TAGGED) {
    const base = `/v2.0/${resource.path}/:id/tags`;
    const visible = (request: FastifyRequest<TagParams>) => resource.get(db, request.ctx, request.params.id);
    const owned = async (request: FastifyRequest<TagParams>, action: 'create' | 'update' | 'delete') => {
      const found = await visible(request);
      if (!request.ctx.isAdmin && found.project_id !== request.ctx.projectId) {
        throw policyRefused(`${action}_${resource.path.replace('-', '_')}_tags`);
      }
    };
    const tagParam = (request: FastifyRequest<TagParams>) => checkTag(request.params.tag ?? '');

    app.get<TagParams>(base, async (request) => {
      await visible(request);
      return { tags: (await tagsOf(db, [request.params.id])).get(request.params.id) ?? [] };
    });
    app.get<TagParams>(`${base}/:tag`, async (request, reply) => {
      await visible(request);
      await checkHasTag(db, request.params.id, tagParam(request), resource.name);
      return reply.code(204).send();
    });
    // tag-creation: the tags the resource lacks are added, the others kept; the answer echoes the body.
    app.post<TagParams>(base, async (request, reply) => {
      const tags = checkTagsBody(request.body);
      await owned(request, 'create');
      await addTags(db, resource.table, request.params.id, tags);
      return reply.code(201).send({ tags });
    });
    app.put<TagParams>(base, async (request) => {
      const tags = checkTagsBody(request.body);
      await owned(request, 'update');
      return { tags: await replaceTags(db, resource.table, request.params.id, tags) };
    });
    app.put<TagParams>(`${base}/:tag`, async (request, reply) => {
      const tag = tagParam(request);
      await owned(request, 'create');
      await addTag(db, resource.table, request.params.id, tag);
      return reply.code(201).send();
    });
    app.delete<TagParams>(base, async (request, reply) => {
      await owned(request, 'delete');
      await replaceTags(db, resource.table, request.params.id, []);
      return reply.code(204).send();
    });
    app.delete<TagParams>(`${base}/:tag`, async (request, reply) => {
      const tag = tagParam(request);
      await owned(request, 'delete');
      await removeTag(db, resource.table, request.params.id, tag, resource.name);
      return reply.code(204).send();
    });
  }
}

export const tagsModule: NetworkApiModule = {
  resources: [],
  extensions: [
    {
      alias: 'standard-attr-tag',
      name: 'Tag support for resources with standard attribute',
      description:
        'Tags on networks, subnets, ports, routers, floating IPs and security groups, with the tag filters on their lists.',
      updated: '2017-01-01T00:00:00-00:00',
    },
    {
      alias: 'tag-creation',
      name: 'Tag creation extension',
      description: "POST to a resource's tags adds several tags at once, keeping those it has.",
      // Neutron's own stamp, month and day swapped as it has them.
      updated: '2024-23-07T10:00:00-00:00',
    },
    {
      alias: 'tag-ext',
      name: 'Tag support for resources: subnet, port, router',
      description: 'Tags on subnets, ports and routers as well as networks.',
      updated: '2017-01-01T00:00:00-00:00',
    },
  ],
  register,
};
