/**
 * /v3/endpoints: list (?interface=, ?service_id=, ?region_id=), show, create, update, delete. Admin only,
 * Keystone's default policy without system scope. An endpoint names its region by `region_id` (which must
 * exist) or, as v3.0 clients do, by `region`, which creates the region when it is missing, as Keystone
 * does for them.
 */
import { Type } from 'typebox';
import { BadRequest, NotFound } from '../../../common/errors.ts';
import type { Db } from '../../../common/db/database.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../authorize.ts';
import type { CatalogCache } from '../catalog-cache.ts';
import { endpointView, extraOf, requireMatchingId } from '../catalog-views.ts';
import { INTERFACES } from '../catalog.ts';
import { checkEndpointUrl } from '../endpoint-url.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { Filter, IdParams } from '../schemas.ts';
import {
  deleteEndpoint,
  getCatalogService,
  getEndpoint,
  getRegion,
  insertEndpoint,
  insertRegion,
  listEndpoints,
  parseExtra,
  updateEndpoint,
} from '../store/catalog.ts';
import { newIdentityId } from '../store/ids.ts';
import { isUniqueViolation } from '../store/unique.ts';

const Interface = Type.Union(INTERFACES.map((i) => Type.Literal(i)));
const NullableString = Type.Unsafe<string | null>({ type: ['string', 'null'] });
// A region id is at most 255 characters (its column's size), however it is given.
const RegionRef = Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 255 });
const EndpointFields = {
  interface: Interface,
  service_id: Type.String(),
  // Keystone's limits: a scheme, a colon and something after it, at most 225 characters.
  url: Type.String({ maxLength: 225, pattern: '^[a-zA-Z0-9+.-]+:.+' }),
  region_id: Type.Optional(RegionRef),
  region: Type.Optional(RegionRef),
  enabled: Type.Optional(Type.Boolean()),
  name: Type.Optional(Type.String()),
  description: Type.Optional(NullableString),
};
// `region` is only another way to give region_id; name and description are extra attributes in Keystone.
const OWN = ['interface', 'service_id', 'url', 'region_id', 'region', 'enabled', 'legacy_endpoint_id'];
const CreateBody = Type.Object({ endpoint: Type.Object(EndpointFields) });
const UpdateBody = Type.Object({
  endpoint: Type.Object(
    {
      ...EndpointFields,
      interface: Type.Optional(Interface),
      service_id: Type.Optional(EndpointFields.service_id),
      url: Type.Optional(EndpointFields.url),
    },
    { minProperties: 1 },
  ),
});
const ListQuery = Type.Object({ interface: Type.Optional(Interface), service_id: Filter, region_id: Filter });

interface RegionChoice {
  region_id?: string | null | undefined;
  region?: string | null | undefined;
}

export function registerEndpointRoutes(app: ApiServer, deps: IdentityDeps, catalog: CatalogCache): void {
  const db = deps.database.db;
  const mustGet = async (id: string) => {
    const endpoint = await getEndpoint(db, id);
    if (!endpoint) throw new NotFound(`Could not find endpoint: ${id}.`);
    return endpoint;
  };

  app.get('/v3/endpoints', { schema: { querystring: ListQuery } }, async (request) => {
    authorize(request, 'list_endpoints');
    const endpoints = await listEndpoints(db, request.query);
    const base = v3Base(request);
    return { endpoints: endpoints.map((e) => endpointView(base, e)), links: collectionLinks(request) };
  });

  app.get('/v3/endpoints/:id', { schema: { params: IdParams } }, async (request) => {
    authorize(request, 'get_endpoint');
    return { endpoint: endpointView(v3Base(request), await mustGet(request.params.id)) };
  });

  app.post('/v3/endpoints', { schema: { body: CreateBody } }, async (request, reply) => {
    authorize(request, 'create_endpoint');
    const body = request.body.endpoint;
    checkEndpointUrl(body.url);
    await requireService(db, body.service_id);
    const region = await resolveRegion(db, body);
    const extra = extraOf(body, OWN, 'endpoint');
    if (region.create) await createRegionIfMissing(db, region.id!);
    // Keystone ignores an id in the body: endpoints always get a new one.
    const endpoint = await insertEndpoint(db, {
      id: newIdentityId(),
      service_id: body.service_id,
      interface: body.interface,
      region_id: region.id ?? null,
      url: body.url,
      enabled: body.enabled ?? true,
      extra,
    });
    catalog.invalidate();
    return reply.code(201).send({ endpoint: endpointView(v3Base(request), endpoint) });
  });

  app.patch('/v3/endpoints/:id', { schema: { params: IdParams, body: UpdateBody } }, async (request) => {
    authorize(request, 'update_endpoint');
    const body = request.body.endpoint;
    const endpoint = await mustGet(request.params.id);
    requireMatchingId(body, endpoint.id);
    if (body.url !== undefined) checkEndpointUrl(body.url);
    if (body.service_id !== undefined) await requireService(db, body.service_id);
    const region = await resolveRegion(db, body);
    const extra = JSON.stringify(extraOf(body, OWN, 'endpoint', parseExtra(endpoint.extra)));
    if (region.create) await createRegionIfMissing(db, region.id!);
    await updateEndpoint(db, endpoint.id, {
      ...(body.service_id !== undefined ? { service_id: body.service_id } : {}),
      ...(body.interface !== undefined ? { interface: body.interface } : {}),
      ...(body.url !== undefined ? { url: body.url } : {}),
      ...(region.id !== undefined ? { region_id: region.id } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled ? 1 : 0 } : {}),
      extra,
    });
    catalog.invalidate();
    return { endpoint: endpointView(v3Base(request), await mustGet(endpoint.id)) };
  });

  app.delete('/v3/endpoints/:id', { schema: { params: IdParams } }, async (request, reply) => {
    authorize(request, 'delete_endpoint');
    const endpoint = await mustGet(request.params.id);
    await deleteEndpoint(db, endpoint.id);
    catalog.invalidate();
    return reply.code(204).send();
  });
}

/** Keystone answers an unknown service or region of an endpoint with a 400 (ValidationError), not a 404. */
function missing(attribute: string): InstanceType<typeof BadRequest> {
  return new BadRequest(
    `Expecting to find endpoint ${attribute} in ${attribute === 'region_id' ? 'region' : 'service'} table. ` +
      'The server could not comply with the request since it is either malformed or otherwise incorrect. ' +
      'The client is assumed to be in error.',
  );
}

async function requireService(db: Db, id: string): Promise<void> {
  if (!(await getCatalogService(db, id))) throw missing('service_id');
}

/**
 * The region the body gives (undefined: it names none, null: none at all) and whether it is to be
 * created: a `region_id` must exist; a `region` given without `region_id` is created if missing.
 */
async function resolveRegion(db: Db, body: RegionChoice): Promise<{ id?: string | null; create: boolean }> {
  if ((body.region_id === undefined || body.region_id === null) && typeof body.region === 'string') {
    return { id: body.region, create: true };
  }
  if (body.region_id === undefined) return { create: false };
  if (body.region_id !== null && !(await getRegion(db, body.region_id))) throw missing('region_id');
  return { id: body.region_id, create: false };
}

async function createRegionIfMissing(db: Db, id: string): Promise<void> {
  if (await getRegion(db, id)) return;
  try {
    await insertRegion(db, { id, description: '', parent_region_id: null, extra: {} });
  } catch (err) {
    // Created meanwhile by another request: what was wanted.
    if (!isUniqueViolation(err)) throw err;
  }
}
