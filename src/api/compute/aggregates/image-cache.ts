/**
 * POST /os-aggregates/{id}/images (2.81, admin): asks every compute host of the aggregate to fetch the
 * images into its image cache ahead of builds. Checked as Nova checks it: the body's schema (uuids, at
 * least one), the aggregate id an integer, no image twice, the aggregate known (404), and each image
 * known to the image service (400) before any host is asked. Then one cast per host that is up; the
 * answer is 202 at once and each host logs what every image came to (compute/image-cache-warmup.ts).
 */
import { Type } from 'typebox';
import type { RequestContext } from '../../../common/context.ts';
import { BadRequest } from '../../../common/errors.ts';
import { getLogger } from '../../../common/log/logger.ts';
import { UnsupportedRpcVersion } from '../../../common/rpc/index.ts';
import { getAggregate } from '../../../objects/aggregates.ts';
import { isServiceUp } from '../../../objects/services.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { requireVersion } from '../microversion.ts';
import { Uuid } from '../schema-types.ts';
import { computeServicesByHost } from '../servers/host-state.ts';
import { validateBody } from '../validate.ts';
import { aggregateId } from './routes.ts';

const log = getLogger('api.compute.aggregates');

const IMAGE_CACHE_VERSION = '2.81';

const CACHE_REQUEST = Type.Object(
  {
    cache: Type.Array(Type.Object({ id: Uuid }, { additionalProperties: false }), { minItems: 1 }),
  },
  { additionalProperties: false },
);

export function registerAggregateImageCacheRoute(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  app.post<{ Params: { id: string } }>('/os-aggregates/:id/images', async (request, reply) => {
    requireVersion(request, IMAGE_CACHE_VERSION);
    const { cache } = validateBody<{ cache: { id: string }[] }>(CACHE_REQUEST, request.body);
    authorize(request.ctx, 'compute:aggregates:images');
    const id = aggregateId(request.params.id);
    const imageIds = cache.map((entry) => entry.id);
    if (new Set(imageIds).size !== imageIds.length) throw new BadRequest('Duplicate images in request');
    const { hosts } = await getAggregate(db, id);
    // Every image is looked up before any host is asked, so one unknown image makes no host fetch.
    for (const imageId of imageIds) {
      if (!(await deps.images.getImage(request.ctx, imageId))) {
        throw new BadRequest(`Image ${imageId} could not be found.`);
      }
    }
    await askHostsToCache(deps, request.ctx, hosts, imageIds);
    return reply.code(202).send();
  });
}

/**
 * One cast per host that is up; a host that is down is skipped, as Nova's conductor skips it (its queue
 * would hand it a stale request whenever it came back). When the compute hosts are pinned below the
 * contract version that has cache_images, the first cast is refused before anything is sent: Nova's
 * 400 for a version pin that does not allow the call.
 */
async function askHostsToCache(
  deps: ComputeApiDeps,
  ctx: RequestContext,
  hosts: readonly string[],
  imageIds: readonly string[],
): Promise<void> {
  const services = await computeServicesByHost(deps.database.db);
  for (const host of hosts) {
    const service = services.get(host);
    if (!service || !isServiceUp(service, deps.config.DEFAULT.service_down_time)) {
      log.info({ host }, 'skipping the image pre-cache request to a compute host that is not up');
      continue;
    }
    try {
      await deps.compute.cacheImages(ctx, host, imageIds);
    } catch (err) {
      if (err instanceof UnsupportedRpcVersion) {
        throw new BadRequest('Compute RPC version pin does not allow cache_images() to be called');
      }
      throw err;
    }
  }
}
