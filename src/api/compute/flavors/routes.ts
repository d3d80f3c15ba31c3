/**
 * Flavors: list (brief and detail, filtered, sorted, paged), show, and for admins create, delete and
 * (from 2.55) update the description — Nova's flavors and flavor-manage APIs.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { BadRequest, NotFound } from '../../../common/errors.ts';
import {
  createFlavor,
  deleteFlavor,
  getFlavor,
  listFlavors,
  updateFlavorDescription,
  type Flavor,
  type FlavorFilter,
} from '../../../objects/flavors.ts';
import type { Db } from '../../../common/db/database.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast, requireVersion } from '../microversion.ts';
import { collectionLinks, pageParams } from '../pagination.ts';
import { BooleanLike, Description, IntegerLike, Name, toInt } from '../schema-types.ts';
import { boolFromString, queryValue, validateBody, type Query } from '../validate.ts';
import { visibleFlavor } from './lookup.ts';
import { notifyFlavor } from './notify.ts';
import { flavorBasicView, flavorView } from './view.ts';

const VALID_SORT_KEYS = [
  'created_at',
  'description',
  'disabled',
  'ephemeral_gb',
  'flavorid',
  'id',
  'is_public',
  'memory_mb',
  'name',
  'root_gb',
  'rxtx_factor',
  'swap',
  'updated_at',
  'vcpu_weight',
  'vcpus',
];
/** The keys the flavor store sorts by; Nova's other valid keys fall back to flavorid. */
const SUPPORTED_SORT_KEYS = ['flavorid', 'name', 'memory_mb', 'vcpus', 'root_gb', 'id'] as const;

interface CreateFlavorBody {
  flavor: {
    name: string;
    id?: string | number | null;
    ram: number | string;
    vcpus: number | string;
    disk: number | string;
    'OS-FLV-EXT-DATA:ephemeral'?: number | string;
    swap?: number | string;
    rxtx_factor?: number | string;
    'os-flavor-access:is_public'?: boolean | string;
    description?: string | null;
  };
}

function createSchema(withDescription: boolean) {
  return Type.Object(
    {
      flavor: Type.Object(
        {
          name: Name,
          id: Type.Optional(
            Type.Unsafe<string | number | null>({
              type: ['string', 'number', 'null'],
              minLength: 1,
              maxLength: 255,
              pattern: '^(?! )[a-zA-Z0-9. _-]+(?<! )$',
            }),
          ),
          ram: IntegerLike(1),
          vcpus: IntegerLike(1),
          disk: IntegerLike(0),
          'OS-FLV-EXT-DATA:ephemeral': Type.Optional(IntegerLike(0)),
          swap: Type.Optional(IntegerLike(0)),
          rxtx_factor: Type.Optional(
            Type.Unsafe<number | string>({
              type: ['number', 'string'],
              pattern: '^[0-9]+(\\.[0-9]+)?$',
              exclusiveMinimum: 0,
              maximum: 3.40282e38,
            }),
          ),
          'os-flavor-access:is_public': Type.Optional(BooleanLike),
          ...(withDescription ? { description: Type.Optional(Description(65535)) } : {}),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  );
}
const CREATE_V21 = createSchema(false);
const CREATE_V255 = createSchema(true);
const UPDATE = Type.Object(
  { flavor: Type.Object({ description: Description(65535) }, { additionalProperties: false }) },
  { additionalProperties: false },
);

export function registerFlavorRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const maxLimit = deps.config.DEFAULT.osapi_max_limit;

  const list = async (request: FastifyRequest, detail: boolean) => {
    const flavors = await findFlavors(db, request, maxLimit);
    const collection = detail ? 'flavors/detail' : 'flavors';
    const body: Record<string, unknown> = {
      flavors: flavors.map((f) => (detail ? flavorView(request, f) : flavorBasicView(request, f))),
    };
    const links = collectionLinks(request, flavors.length, flavors[flavors.length - 1]?.flavorid, collection, maxLimit);
    if (links.length) body['flavors_links'] = links;
    return body;
  };
  app.get('/flavors', (request) => list(request, false));
  app.get('/flavors/detail', (request) => list(request, true));

  app.get<{ Params: { id: string } }>('/flavors/:id', async (request) => ({
    flavor: flavorView(request, await visibleFlavor(db, request.ctx, request.params.id)),
  }));

  app.post('/flavors', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-flavor-manage:create');
    const withDescription = atLeast(request, '2.55');
    const { flavor: f } = validateBody<CreateFlavorBody>(withDescription ? CREATE_V255 : CREATE_V21, request.body);
    const created = await createFlavor(db, {
      flavorid: f.id === undefined || f.id === null ? null : String(f.id),
      name: f.name.trim(),
      memory_mb: toInt(f.ram),
      vcpus: toInt(f.vcpus),
      root_gb: toInt(f.disk),
      ephemeral_gb: toInt(f['OS-FLV-EXT-DATA:ephemeral'] ?? 0),
      swap: toInt(f.swap ?? 0),
      rxtx_factor: Number(f.rxtx_factor ?? 1.0),
      is_public: boolFromString(f['os-flavor-access:is_public'] ?? true),
      description: withDescription ? (f.description ?? null) : null,
    });
    await notifyFlavor(deps, request.ctx, 'create', created);
    return { flavor: flavorView(request, created) };
  });

  app.put<{ Params: { id: string } }>('/flavors/:id', async (request) => {
    requireVersion(request, '2.55');
    authorize(request.ctx, 'os_compute_api:os-flavor-manage:update');
    const { flavor } = validateBody<{ flavor: { description: string | null } }>(UPDATE, request.body);
    const updated = await updateFlavorDescription(db, request.params.id, flavor.description);
    await notifyFlavor(deps, request.ctx, 'update', updated);
    return { flavor: flavorView(request, updated) };
  });

  app.delete<{ Params: { id: string } }>('/flavors/:id', async (request, reply) => {
    authorize(request.ctx, 'os_compute_api:os-flavor-manage:delete');
    const deleted = deps.notifications.enabled ? await getFlavor(db, request.params.id) : null;
    await deleteFlavor(db, request.params.id);
    if (deleted) await notifyFlavor(deps, request.ctx, 'delete', deleted);
    void reply.code(202);
  });
}

async function findFlavors(db: Db, request: FastifyRequest, maxLimit: number): Promise<Flavor[]> {
  const ctx = request.ctx;
  const query = request.query as Query;
  const page = pageParams(query, maxLimit);
  const filter: FlavorFilter = { projectId: ctx.projectId ?? '', limit: page.limit };
  if (ctx.isAdmin) {
    // Admins see public flavors and their project's by default, `is_public=false` the private ones,
    // `is_public=none` all of them (Nova's _parse_is_public).
    const isPublic = queryValue(query, 'is_public');
    if (isPublic !== undefined && isPublic.toLowerCase() === 'none') {
      filter.projectId = null;
    } else if (isPublic !== undefined) {
      let parsed: boolean;
      try {
        parsed = boolFromString(isPublic, true);
      } catch {
        throw new BadRequest(`Invalid is_public filter [${isPublic}]`);
      }
      if (!parsed) {
        filter.projectId = null;
        filter.isPublic = false;
      }
    }
  }
  for (const [param, field] of [
    ['minRam', 'minRam'],
    ['minDisk', 'minDisk'],
  ] as const) {
    const raw = queryValue(query, param);
    if (raw === undefined) continue;
    if (!/^-?\d+$/.test(raw.trim())) throw new BadRequest(`Invalid ${param} filter [${raw}]`);
    filter[field] = Number(raw);
  }
  const sortKey = queryValue(query, 'sort_key');
  if (sortKey !== undefined) {
    if (!VALID_SORT_KEYS.includes(sortKey)) {
      throw new BadRequest(
        `Invalid input for query parameters sort_key. Value: ${sortKey}. '${sortKey}' is not one of ${JSON.stringify(VALID_SORT_KEYS)}`,
      );
    }
    filter.sortKey = SUPPORTED_SORT_KEYS.find((k) => k === sortKey) ?? 'flavorid';
  }
  const sortDir = queryValue(query, 'sort_dir');
  if (sortDir !== undefined) {
    if (sortDir !== 'asc' && sortDir !== 'desc') {
      throw new BadRequest(
        `Invalid input for query parameters sort_dir. Value: ${sortDir}. '${sortDir}' is not one of ['asc', 'desc']`,
      );
    }
    filter.sortDir = sortDir;
  }
  if (page.marker !== undefined) {
    try {
      await getFlavor(db, page.marker);
    } catch (err) {
      if (err instanceof NotFound) throw new BadRequest(`marker [${page.marker}] not found`);
      throw err;
    }
    filter.marker = page.marker;
  }
  return listFlavors(db, filter);
}
