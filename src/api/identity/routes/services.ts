/**
 * /v3/services: list (?type=, ?name=), show, create, update, delete (with the service's endpoints).
 * Admin only, Keystone's default policy without system scope. A service's description and any member a
 * client adds are kept as its extra attributes.
 */
import { Type } from 'typebox';
import { NotFound } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../authorize.ts';
import type { CatalogCache } from '../catalog-cache.ts';
import { extraOf, requireMatchingId, serviceView } from '../catalog-views.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { Filter, IdParams } from '../schemas.ts';
import {
  deleteCatalogService,
  getCatalogService,
  insertCatalogService,
  listCatalogServices,
  parseExtra,
  updateCatalogService,
} from '../store/catalog.ts';
import { newIdentityId } from '../store/ids.ts';

const ServiceFields = {
  type: Type.String({ minLength: 1, maxLength: 255 }),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  enabled: Type.Optional(Type.Boolean()),
};
const OWN = ['type', 'name', 'enabled'];
const CreateBody = Type.Object({ service: Type.Object(ServiceFields) });
const UpdateBody = Type.Object({
  service: Type.Object({ ...ServiceFields, type: Type.Optional(ServiceFields.type) }, { minProperties: 1 }),
});
const ListQuery = Type.Object({ type: Filter, name: Filter });

export function registerServiceRoutes(app: ApiServer, deps: IdentityDeps, catalog: CatalogCache): void {
  const db = deps.database.db;
  const mustGet = async (id: string) => {
    const service = await getCatalogService(db, id);
    if (!service) throw new NotFound(`Could not find service: ${id}.`);
    return service;
  };

  app.get('/v3/services', { schema: { querystring: ListQuery } }, async (request) => {
    authorize(request, 'list_services');
    const services = await listCatalogServices(db, request.query);
    const base = v3Base(request);
    return { services: services.map((s) => serviceView(base, s)), links: collectionLinks(request) };
  });

  app.get('/v3/services/:id', { schema: { params: IdParams } }, async (request) => {
    authorize(request, 'get_service');
    return { service: serviceView(v3Base(request), await mustGet(request.params.id)) };
  });

  app.post('/v3/services', { schema: { body: CreateBody } }, async (request, reply) => {
    authorize(request, 'create_service');
    const body = request.body.service;
    // Keystone ignores an id in the body: services always get a new one.
    const service = await insertCatalogService(db, {
      id: newIdentityId(),
      type: body.type,
      name: body.name ?? '',
      enabled: body.enabled ?? true,
      extra: extraOf(body, OWN, 'service'),
    });
    catalog.invalidate();
    return reply.code(201).send({ service: serviceView(v3Base(request), service) });
  });

  app.patch('/v3/services/:id', { schema: { params: IdParams, body: UpdateBody } }, async (request) => {
    authorize(request, 'update_service');
    const body = request.body.service;
    const service = await mustGet(request.params.id);
    requireMatchingId(body, service.id);
    await updateCatalogService(db, service.id, {
      ...(body.type !== undefined ? { type: body.type } : {}),
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled ? 1 : 0 } : {}),
      extra: JSON.stringify(extraOf(body, OWN, 'service', parseExtra(service.extra))),
    });
    catalog.invalidate();
    return { service: serviceView(v3Base(request), await mustGet(service.id)) };
  });

  app.delete('/v3/services/:id', { schema: { params: IdParams } }, async (request, reply) => {
    authorize(request, 'delete_service');
    const service = await mustGet(request.params.id);
    await deleteCatalogService(db, service.id);
    catalog.invalidate();
    return reply.code(204).send();
  });
}
