/**
 * /v3/regions: list (?parent_region_id=), show, create (POST, with or without an id, or PUT with the
 * id in the path), update, delete. Reading is for any authenticated user, writing for admins (Keystone's
 * default policy). Deleting a region takes the regions below it along, and is refused (403, Keystone's
 * RegionDeletionError) while it or one of them holds an endpoint.
 */
import { Type, type Static } from 'typebox';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../../common/errors.ts';
import type { Db } from '../../../common/db/database.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../authorize.ts';
import { extraOf, regionView, requireMatchingId } from '../catalog-views.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { IdParams } from '../schemas.ts';
import {
  deleteRegionTree,
  getRegion,
  insertRegion,
  listRegions,
  parseExtra,
  updateRegion,
  type RegionRow,
} from '../store/catalog.ts';
import { newIdentityId } from '../store/ids.ts';
import { isUniqueViolation } from '../store/unique.ts';

const RegionId = Type.Unsafe<string | null>({ type: ['string', 'null'], minLength: 1, maxLength: 255 });
const RegionFields = {
  description: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 255 })),
  parent_region_id: Type.Optional(RegionId),
};
const OWN = ['description', 'parent_region_id'];
// Unknown members are kept as the region's extra attributes, as Keystone keeps them.
const CreateBody = Type.Object({
  region: Type.Object({
    ...RegionFields,
    // An empty id asks for a generated one, as no id does.
    id: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 255 })),
  }),
});
const UpdateBody = Type.Object({
  region: Type.Object({ ...RegionFields, id: Type.Optional(RegionId) }, { minProperties: 1 }),
});
const ListQuery = Type.Object({ parent_region_id: Type.Optional(Type.String({ maxLength: 255 })) });

// Tokens' catalogs name an endpoint's region by its id alone, and a region holding endpoints cannot be
// deleted: no region edit changes them, so none drops the cached catalog.
export function registerRegionRoutes(app: ApiServer, deps: IdentityDeps): void {
  const db = deps.database.db;
  const mustGet = async (id: string) => {
    const region = await getRegion(db, id);
    if (!region) throw new NotFound(`Could not find region: ${id}.`);
    return region;
  };

  app.get('/v3/regions', { schema: { querystring: ListQuery } }, async (request) => {
    authorize(request, 'list_regions');
    const regions = await listRegions(db, { parent_region_id: request.query.parent_region_id });
    const base = v3Base(request);
    return { regions: regions.map((r) => regionView(base, r)), links: collectionLinks(request) };
  });

  app.get('/v3/regions/:id', { schema: { params: IdParams } }, async (request) => {
    authorize(request, 'get_region');
    return { region: regionView(v3Base(request), await mustGet(request.params.id)) };
  });

  const create = async (body: Static<typeof CreateBody>['region']): Promise<RegionRow> => {
    const id = body.id || newIdentityId();
    if (await getRegion(db, id)) throw duplicate(id);
    const parent = body.parent_region_id ?? null;
    if (parent !== null) await mustGet(parent);
    try {
      return await insertRegion(db, {
        id,
        description: body.description ?? '',
        parent_region_id: parent,
        extra: extraOf(body, OWN, 'region'),
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(id);
      throw err;
    }
  };

  app.post('/v3/regions', { schema: { body: CreateBody } }, async (request, reply) => {
    authorize(request, 'create_region');
    const region = await create(request.body.region);
    return reply.code(201).send({ region: regionView(v3Base(request), region) });
  });

  app.put('/v3/regions/:id', { schema: { params: IdParams, body: CreateBody } }, async (request, reply) => {
    authorize(request, 'create_region');
    const body = request.body.region;
    if (body.id !== undefined && body.id !== request.params.id) {
      throw new BadRequest(`Conflicting region IDs specified: "${request.params.id}" != "${String(body.id)}".`);
    }
    const region = await create({ ...body, id: request.params.id });
    return reply.code(201).send({ region: regionView(v3Base(request), region) });
  });

  app.patch('/v3/regions/:id', { schema: { params: IdParams, body: UpdateBody } }, async (request) => {
    authorize(request, 'update_region');
    const body = request.body.region;
    const region = await mustGet(request.params.id);
    requireMatchingId(body, region.id);
    if (body.parent_region_id !== undefined && body.parent_region_id !== null) {
      await refuseCycle(db, region.id, body.parent_region_id);
    }
    await updateRegion(db, region.id, {
      ...(body.description !== undefined ? { description: body.description ?? '' } : {}),
      ...(body.parent_region_id !== undefined ? { parent_region_id: body.parent_region_id } : {}),
      extra: JSON.stringify(extraOf(body, OWN, 'region', parseExtra(region.extra))),
    });
    return { region: regionView(v3Base(request), await mustGet(region.id)) };
  });

  app.delete('/v3/regions/:id', { schema: { params: IdParams } }, async (request, reply) => {
    authorize(request, 'delete_region');
    const region = await mustGet(request.params.id);
    if (!(await deleteRegionTree(db, region.id))) {
      throw new Forbidden(
        `Unable to delete region ${region.id} because it or its child regions have associated endpoints.`,
      );
    }
    return reply.code(204).send();
  });
}

function duplicate(id: string): InstanceType<typeof Conflict> {
  return new Conflict(`Conflict occurred attempting to store region - Duplicate ID, ${id}.`);
}

/** The new parent must exist (else 404, as Keystone) and must not be the region or one below it (400). */
async function refuseCycle(db: Db, id: string, parentId: string): Promise<void> {
  let at: string | null = parentId;
  while (at !== null) {
    if (at === id) {
      throw new BadRequest(`The specified parent region ${parentId} would create a circular region hierarchy.`);
    }
    const parent: RegionRow | undefined = await getRegion(db, at);
    if (!parent) throw new NotFound(`Could not find region: ${at}.`);
    at = parent.parent_region_id;
  }
}
