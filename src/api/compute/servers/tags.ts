/**
 * Server tags (2.26): GET/PUT/DELETE /servers/{id}/tags and GET/PUT/DELETE /servers/{id}/tags/{tag}.
 * Anyone who may see the server reads its tags; changing them needs the server active, paused, suspended
 * or stopped, as in Nova (a lock does not forbid it: tags change nothing of the server itself).
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BadRequest, Conflict, NotFound } from '../../../common/errors.ts';
import type { Db } from '../../../common/db/database.ts';
import { VmState } from '../../../wire/messages/instance-states.ts';
import {
  addTag,
  hasTag,
  MAX_TAGS,
  removeAllTags,
  removeTag,
  replaceTags,
  tagsOfInstance,
  type TagFilter,
} from '../../../objects/instance-tags.ts';
import { getInstance, type Instance } from '../../../objects/instances.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { apiInstanceUpdatePayload } from '../notifications/instance-update.ts';
import { selfHref } from '../links.ts';
import { requireVersion } from '../microversion.ts';
import { queryValue, validateBody, type Query } from '../validate.ts';
import { findServerFor } from './lookup.ts';
import { Tag } from './schemas.ts';

const TAGS_VERSION = '2.26';

const WRITABLE_STATES: readonly string[] = [VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED];

const ReplaceTagsSchema = Type.Object(
  { tags: Type.Array(Tag, { maxItems: MAX_TAGS }) },
  { additionalProperties: false },
);

/** PUT of one tag takes no body (Nova's schema: null). */
const NoBodySchema = Type.Null();

/** What a tag in the path must look like, checked as Nova checks it (after the server's state). */
const TAG_PATTERN = /^[^,/]*$/;
const MAX_TAG_LENGTH = 60;

type Params = { Params: { id: string } };
type TagParams = { Params: { id: string; tag: string } };

/**
 * The tag as Nova writes it into the Location header: as it is (Nova joins the decoded tag into the
 * URL unquoted, so `my tag` stays `my tag`). Only what an HTTP header cannot carry (controls and
 * characters beyond printable ASCII) is percent-encoded, which clients decode to the same tag.
 */
function locationTag(tag: string): string {
  return tag.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}

/** The server, for a request at 2.26 or later. */
async function serverOf(db: Db, request: FastifyRequest<Params>, rule: string): Promise<Instance> {
  requireVersion(request, TAGS_VERSION);
  return findServerFor(db, request.ctx, request.params.id, `os_compute_api:os-server-tags:${rule}`);
}

/** The server, if its tags may change now; 409 in Nova's words otherwise. */
async function writableServerOf(
  db: Db,
  request: FastifyRequest<Params>,
  what: string,
  rule: string,
): Promise<Instance> {
  const instance = await serverOf(db, request, rule);
  if (!WRITABLE_STATES.includes(instance.vm_state)) {
    throw new Conflict(`Cannot '${what}' instance ${instance.uuid} while it is in vm_state ${instance.vm_state}`);
  }
  return instance;
}

function checkTag(tag: string): void {
  if (tag.length >= 1 && tag.length <= MAX_TAG_LENGTH && TAG_PATTERN.test(tag)) return;
  throw new BadRequest(
    `Tag '${tag}' is invalid. It must be a non empty string of at most ${MAX_TAG_LENGTH} characters ` +
      `without characters '/' and ','.`,
  );
}

export function registerServerTagRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  // Once the tags are written, with the server as it is now; a tag already there sends nothing, as in Nova.
  const notify = (request: FastifyRequest, uuid: string) =>
    deps.notifications.tagsUpdate(request.ctx, async () =>
      apiInstanceUpdatePayload(db, request.ctx, await getInstance(db, uuid), null),
    );

  app.get<Params>('/servers/:id/tags', async (request) => {
    const instance = await serverOf(db, request, 'index');
    return { tags: await tagsOfInstance(db, instance.uuid) };
  });

  app.put<Params>('/servers/:id/tags', async (request) => {
    requireVersion(request, TAGS_VERSION);
    const { tags } = validateBody<{ tags: string[] }>(ReplaceTagsSchema, request.body);
    const instance = await writableServerOf(db, request, 'update tags', 'update_all');
    const replaced = await replaceTags(db, instance.uuid, tags);
    await notify(request, instance.uuid);
    return { tags: replaced };
  });

  app.delete<Params>('/servers/:id/tags', async (request, reply) => {
    const instance = await writableServerOf(db, request, 'delete tags', 'delete_all');
    await removeAllTags(db, instance.uuid);
    await notify(request, instance.uuid);
    void reply.code(204);
  });

  app.get<TagParams>('/servers/:id/tags/:tag', async (request, reply) => {
    const instance = await serverOf(db, request, 'show');
    if (!(await hasTag(db, instance.uuid, request.params.tag))) {
      throw new NotFound(`Server ${instance.uuid} has no tag '${request.params.tag}'`);
    }
    void reply.code(204);
  });

  app.put<TagParams>('/servers/:id/tags/:tag', async (request, reply) => {
    requireVersion(request, TAGS_VERSION);
    if (request.body !== undefined && request.body !== null) validateBody(NoBodySchema, request.body);
    const instance = await writableServerOf(db, request, 'update tag', 'update');
    const tag = request.params.tag;
    checkTag(tag);
    const outcome = await addTag(db, instance.uuid, tag);
    if (outcome === 'full') throw new BadRequest(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
    if (outcome === 'exists') return reply.code(204).send();
    await notify(request, instance.uuid);
    void reply.header('location', `${selfHref(request, 'servers', instance.uuid)}/tags/${locationTag(tag)}`);
    return reply.code(201).send();
  });

  app.delete<TagParams>('/servers/:id/tags/:tag', async (request, reply) => {
    const instance = await writableServerOf(db, request, 'delete tag', 'delete');
    if (!(await removeTag(db, instance.uuid, request.params.tag))) {
      throw new NotFound(`Instance ${instance.uuid} has no tag '${request.params.tag}'`);
    }
    await notify(request, instance.uuid);
    void reply.code(204);
  });
}

/**
 * The tag filters of a server list (2.26): `tags`, `tags-any`, `not-tags` and `not-tags-any`, each a
 * comma-separated list (the last value when repeated, as Nova reads them); undefined when none is given.
 */
export function tagFilterOf(query: Query): TagFilter | undefined {
  const filter: TagFilter = {};
  const fields = [
    ['tags', 'all'],
    ['tags-any', 'any'],
    ['not-tags', 'notAll'],
    ['not-tags-any', 'notAny'],
  ] as const;
  for (const [name, field] of fields) {
    const value = queryValue(query, name);
    if (value !== undefined) filter[field] = value.split(',');
  }
  return Object.keys(filter).length ? filter : undefined;
}
