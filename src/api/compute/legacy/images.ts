/**
 * The images proxy API Nova kept until 2.35 (GET /images, /images/detail, /images/{id}, DELETE
 * /images/{id}) and its image metadata until 2.38 (GET/POST/PUT /images/{id}/metadata and
 * GET/PUT/DELETE /images/{id}/metadata/{key}), relayed to the image service as the caller through
 * ImageLookup, with Nova's view of an image (its statuses and progress, minRam/minDisk, links including the
 * image API's own). From those versions on, 404.
 */
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../../common/context.ts';
import { serviceUrl } from '../../../common/config/service-urls.ts';
import { BadRequest, Forbidden, NotFound, StratusError } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import type { ImageRecord } from '../image-lookup.ts';
import { bookmarkHref, resourceLinks, selfHref, type Link } from '../links.ts';
import { requireVersion } from '../microversion.ts';
import { collectionLinks } from '../pagination.ts';
import { queryTime } from '../query-checks.ts';
import { MetadataBodySchema, MetaItemBodySchema } from '../servers/schemas.ts';
import { isoTime } from '../timestamps.ts';
import { boolFromString, queryValue, validateBody, type Query } from '../validate.ts';

const LAST_IMAGES_VERSION = '2.35';
const LAST_METADATA_VERSION = '2.38';
/** Nova's metadata_items quota, which image metadata counts against. */
const METADATA_ITEMS = 128;

const STATUS: Record<string, string> = {
  active: 'ACTIVE',
  queued: 'SAVING',
  saving: 'SAVING',
  deleted: 'DELETED',
  pending_delete: 'DELETED',
  killed: 'ERROR',
};
const PROGRESS: Record<string, number> = { queued: 25, saving: 50, active: 100 };

type IdParams = { Params: { id: string } };
type KeyParams = { Params: { id: string; key: string } };

function imageNotFound(): StratusError {
  return new NotFound('Image not found.');
}

export function registerImageProxyRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const maxLimit = deps.config.DEFAULT.osapi_max_limit;
  const imageApi = serviceUrl(deps.config, 'image');

  const links = (request: FastifyRequest, id: string): Link[] => [
    ...resourceLinks(request, 'images', id),
    { rel: 'alternate', type: 'application/vnd.openstack.image', href: `${imageApi}/images/${id}` },
  ];

  const detailView = (request: FastifyRequest, image: ImageRecord): Record<string, unknown> => {
    const view: Record<string, unknown> = {
      id: image.id,
      name: image.name,
      minRam: image.min_ram,
      minDisk: image.min_disk,
      metadata: image.properties,
      created: isoTime(image.created_at),
      updated: image.updated_at === null ? null : isoTime(image.updated_at),
      status: STATUS[image.status] ?? 'UNKNOWN',
      progress: PROGRESS[image.status] ?? 0,
      'OS-EXT-IMG-SIZE:size': image.size,
      links: links(request, image.id),
    };
    // A snapshot names the server it was taken from.
    const server = image.properties['instance_uuid'];
    if (server !== undefined) {
      view['server'] = {
        id: server,
        links: [
          { rel: 'self', href: selfHref(request, 'servers', server) },
          { rel: 'bookmark', href: bookmarkHref(request, 'servers', server) },
        ],
      };
    }
    const autoDiskConfig = image.properties['auto_disk_config'];
    if (autoDiskConfig !== undefined) view['OS-DCF:diskConfig'] = boolFromString(autoDiskConfig) ? 'AUTO' : 'MANUAL';
    return view;
  };

  const list = async (request: FastifyRequest, detail: boolean) => {
    requireVersion(request, '2.1', LAST_IMAGES_VERSION);
    const query = request.query as Query;
    const rawLimit = queryValue(query, 'limit');
    if (rawLimit !== undefined && !/^[0-9]+$/.test(rawLimit)) {
      throw new BadRequest(
        `Invalid input for query parameters limit. Value: ${rawLimit}. '${rawLimit}' does not match '^[0-9]*$'`,
      );
    }
    // Nova's filters, under the image API's names: `server` and `type` are properties of snapshots.
    const properties: Record<string, string> = {};
    for (const key of Object.keys(query)) {
      const value = queryValue(query, key);
      if (key.startsWith('property-') && value !== undefined) properties[key.slice('property-'.length)] = value;
    }
    const server = queryValue(query, 'server');
    if (server !== undefined) properties['instance_uuid'] = server.split('/').pop()!;
    const type = queryValue(query, 'type');
    if (type !== undefined) properties['image_type'] = type;
    for (const [param, name] of [
      ['minRam', 'min_ram'],
      ['minDisk', 'min_disk'],
    ] as const) {
      const value = queryValue(query, param);
      if (value !== undefined) properties[name] = value;
    }
    const name = queryValue(query, 'name');
    const status = queryValue(query, 'status')?.toLowerCase();
    const changesSince = queryTime(query, 'changes-since');
    const marker = queryValue(query, 'marker');
    const images = await deps.images.listImages(request.ctx, {
      limit: Math.min(rawLimit === undefined ? maxLimit : Number(rawLimit), maxLimit),
      properties,
      ...(marker !== undefined ? { marker } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(changesSince !== undefined ? { changesSince } : {}),
    });
    const body: Record<string, unknown> = {
      images: images.map((image) =>
        detail ? detailView(request, image) : { id: image.id, name: image.name, links: links(request, image.id) },
      ),
    };
    const collection = detail ? 'images/detail' : 'images';
    const next = collectionLinks(request, images.length, images[images.length - 1]?.id, collection, maxLimit);
    if (next.length) body['images_links'] = next;
    return body;
  };
  app.get('/images', (request) => list(request, false));
  app.get('/images/detail', (request) => list(request, true));

  app.get<IdParams>('/images/:id', async (request) => {
    requireVersion(request, '2.1', LAST_IMAGES_VERSION);
    const image = await deps.images.describeImage(request.ctx, request.params.id);
    if (!image) throw imageNotFound();
    return { image: detailView(request, image) };
  });

  app.delete<IdParams>('/images/:id', async (request, reply) => {
    requireVersion(request, '2.1', LAST_IMAGES_VERSION);
    try {
      await deps.images.deleteImage(request.ctx, request.params.id);
    } catch (err) {
      if (err instanceof Forbidden) throw new Forbidden('You are not allowed to delete the image.');
      if (err instanceof NotFound) throw imageNotFound();
      throw err;
    }
    void reply.code(204);
  });

  /** The image's properties as `ctx` sees them, or Nova's 404. */
  const properties = async (ctx: RequestContext, id: string) => {
    const image = await deps.images.describeImage(ctx, id);
    if (!image) throw imageNotFound();
    return { ...image.properties };
  };

  /** Stores `wanted` as the image's properties, within Nova's metadata quota. */
  const save = async (ctx: RequestContext, id: string, wanted: Record<string, string>) => {
    if (Object.keys(wanted).length > METADATA_ITEMS) throw new Forbidden('Image metadata limit exceeded');
    try {
      return await deps.images.replaceImageProperties(ctx, id, wanted);
    } catch (err) {
      if (err instanceof Forbidden) throw new Forbidden(`Not authorized for image ${id}.`);
      if (err instanceof NotFound) throw imageNotFound();
      throw err;
    }
  };

  app.get<IdParams>('/images/:id/metadata', async (request) => {
    requireVersion(request, '2.1', LAST_METADATA_VERSION);
    return { metadata: await properties(request.ctx, request.params.id) };
  });

  // POST merges the given keys into the metadata; PUT replaces it whole.
  for (const [method, merge] of [
    ['POST', true],
    ['PUT', false],
  ] as const) {
    app.route<IdParams>({
      method,
      url: '/images/:id/metadata',
      handler: async (request) => {
        requireVersion(request, '2.1', LAST_METADATA_VERSION);
        const { metadata } = validateBody<{ metadata: Record<string, string> }>(MetadataBodySchema, request.body);
        const current = await properties(request.ctx, request.params.id);
        const wanted = merge ? { ...current, ...metadata } : metadata;
        const saved = await save(request.ctx, request.params.id, wanted);
        return { metadata: merge ? saved : metadata };
      },
    });
  }

  app.get<KeyParams>('/images/:id/metadata/:key', async (request) => {
    requireVersion(request, '2.1', LAST_METADATA_VERSION);
    const metadata = await properties(request.ctx, request.params.id);
    const value = metadata[request.params.key];
    if (value === undefined) throw new NotFound('The resource could not be found.');
    return { meta: { [request.params.key]: value } };
  });

  app.put<KeyParams>('/images/:id/metadata/:key', async (request) => {
    requireVersion(request, '2.1', LAST_METADATA_VERSION);
    const { meta } = validateBody<{ meta: Record<string, string> }>(MetaItemBodySchema, request.body);
    if (!(request.params.key in meta)) throw new BadRequest('Request body and URI mismatch');
    const metadata = await properties(request.ctx, request.params.id);
    await save(request.ctx, request.params.id, { ...metadata, ...meta });
    return { meta };
  });

  app.delete<KeyParams>('/images/:id/metadata/:key', async (request, reply) => {
    requireVersion(request, '2.1', LAST_METADATA_VERSION);
    const metadata = await properties(request.ctx, request.params.id);
    if (!(request.params.key in metadata)) throw new NotFound('Invalid metadata key');
    delete metadata[request.params.key];
    await save(request.ctx, request.params.id, metadata);
    void reply.code(204);
  });
}
