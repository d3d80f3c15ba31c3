/**
 * GET /servers and /servers/detail: the caller's servers, newest first, filtered (list-filters.ts) and
 * paged as Nova does. Members see their own project; admins may ask for every project (all_tenants) and
 * use every filter, where Nova silently drops most of them for members.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, Forbidden } from '../../../common/errors.ts';
import {
  INSTANCE_SORT_COLUMNS,
  instancesByKey,
  listInstanceKeys,
  type InstanceFilter,
  type InstanceKey,
  type InstanceSort,
} from '../../../objects/instances.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { listBody, type SliceViews } from '../../http/json-stream.ts';
import { authorize, requireProjectScope } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { collectionLinks, pageParams } from '../pagination.ts';
import { queryValues, type Query } from '../validate.ts';
import { serverListFilter } from './list-filters.ts';
import { loadServerViewData, serverBasicView, serverView } from './view.ts';

export function registerServerListRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const maxLimit = deps.config.DEFAULT.osapi_max_limit;

  // The list is one query for the page's keys; the basic view needs nothing more.
  app.get('/servers', async (request, reply) => {
    const keys = await findServers(db, request, maxLimit, false);
    return serversBody(request, reply, 'servers', keys, maxLimit, (slice) =>
      slice.map((key) => serverBasicView(request, key)),
    );
  });

  // The detail reads whole instances and what their views need a slice at a time, as the body is sent.
  app.get('/servers/detail', async (request, reply) => {
    const keys = await findServers(db, request, maxLimit, true);
    return serversBody(request, reply, 'servers/detail', keys, maxLimit, async (slice) => {
      const [instances, data] = await Promise.all([
        instancesByKey(db, slice),
        loadServerViewData(
          db,
          request,
          slice.map((key) => key.uuid),
        ),
      ]);
      return instances.map((instance) => serverView(request, instance, data, deps.config));
    });
  });
}

/** `{servers: [...], servers_links?: [...]}`, streamed when the page is long (see json-stream.ts). */
async function serversBody(
  request: FastifyRequest,
  reply: FastifyReply,
  collection: string,
  keys: InstanceKey[],
  maxLimit: number,
  views: SliceViews<InstanceKey>,
): Promise<Record<string, unknown> | Readable> {
  const links = collectionLinks(request, keys.length, keys[keys.length - 1]?.uuid, collection, maxLimit);
  const body = await listBody('servers', keys, views, links.length ? { servers_links: links } : {});
  if (body instanceof Readable) void reply.type('application/json; charset=utf-8');
  return body;
}

async function findServers(db: Db, request: FastifyRequest, maxLimit: number, detail: boolean): Promise<InstanceKey[]> {
  authorize(request.ctx, `os_compute_api:servers:${detail ? 'detail' : 'index'}`);
  const query = request.query as Query;
  const page = pageParams(query, maxLimit);
  const filter = await serverListFilter(db, request, query, detail, requireProjectScope(request.ctx));
  if (!filter) return [];
  // A marker that names no server is refused by listInstanceKeys, with Nova's 400.
  const marker = page.marker !== undefined ? { marker: page.marker } : {};
  return listInstanceKeys(db, { ...filter, ...sortParams(request, query), ...marker, limit: page.limit });
}

/**
 * Nova's sort keys that were once accepted but are meaningless to sort on: dropped (with their
 * direction) rather than refused, for old clients; refused like any unknown key from 2.75.
 */
const IGNORED_SORT_KEYS = [
  'architecture',
  'cell_name',
  'cleaned',
  'default_ephemeral_device',
  'default_swap_device',
  'deleted',
  'deleted_at',
  'disable_terminate',
  'ephemeral_gb',
  'ephemeral_key_uuid',
  'id',
  'key_data',
  'launched_on',
  'locked',
  'memory_mb',
  'os_type',
  'reservation_id',
  'root_gb',
  'shutdown_terminate',
  'user_data',
  'vcpus',
  'vm_mode',
];

/** Valid sort keys Stratus has no column for (no volumes, no direct kernel fields): every server ties. */
const CONSTANT_SORT_KEYS = ['kernel_id', 'ramdisk_id', 'root_device_name'];

const ADMIN_ONLY_SORT_KEYS = ['host', 'node'];

/**
 * sort_key and sort_dir (each may repeat), as Nova pairs them: directions beyond the keys are an error,
 * missing ones repeat the first given (or desc). Keys Nova ignores are dropped with their direction.
 */
function sortParams(request: FastifyRequest, query: Query): Required<Pick<InstanceFilter, 'sort' | 'sortDirection'>> {
  let keys = queryValues(query, 'sort_key').map((k) => k.trim());
  let dirs = queryValues(query, 'sort_dir').map((d) => d.trim());
  if (keys.length === 0) keys = ['created_at'];
  const ignored = atLeast(request, '2.75')
    ? []
    : IGNORED_SORT_KEYS.filter((k) => k !== 'locked' || !atLeast(request, '2.73'));
  const valid = [...INSTANCE_SORT_COLUMNS, ...CONSTANT_SORT_KEYS].filter(
    (k) => k !== 'locked' || atLeast(request, '2.73'),
  );
  for (const key of keys) {
    if (!valid.includes(key) && !ignored.includes(key)) {
      const allowed = [...valid, ...ignored].map((k) => `'${k}'`).join(', ');
      throw new BadRequest(
        `Invalid input for query parameters sort_key. Value: ${key}. '${key}' is not one of [${allowed}]`,
      );
    }
    if (ADMIN_ONLY_SORT_KEYS.includes(key) && !request.ctx.isAdmin) {
      throw new Forbidden(`Only administrators can sort servers by ${key}`);
    }
  }
  for (let i = keys.length - 1; i >= 0; i--) {
    if (!ignored.includes(keys[i]!)) continue;
    if (dirs.length > i) dirs = dirs.filter((_, j) => j !== i);
    keys = keys.filter((_, j) => j !== i);
  }
  if (dirs.length > keys.length) throw new BadRequest('Sort direction size exceeds sort key size');
  const first = dirs.length ? direction(dirs[0]!) : 'desc';
  const sort: InstanceSort[] = [];
  keys.forEach((key, i) => {
    const column = INSTANCE_SORT_COLUMNS.find((c) => c === key);
    // A key every server ties on changes no order; only its direction counts, as the default for the rest.
    if (column) sort.push({ column, direction: i < dirs.length ? direction(dirs[i]!) : first });
  });
  // The tie-breakers (added by listInstanceKeys) follow the first direction asked for, whichever key it came with.
  return { sort, sortDirection: first };
}

function direction(value: string): 'asc' | 'desc' {
  if (value !== 'asc' && value !== 'desc') throw new BadRequest("Unknown sort direction, must be 'desc' or 'asc'");
  return value;
}
