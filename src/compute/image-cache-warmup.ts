/**
 * Image pre-caching on this host (Nova's ComputeManager.cache_images, compute API 2.81): an operator asks
 * an aggregate's hosts to fetch images before any build needs them, so the first boots of a new image do
 * not all wait on its download. Each image is fetched in turn, as a build would fetch it; one image that
 * fails does not stop the others. The request is a cast, so the outcome per image is logged here, with
 * Nova's words for it: cached (downloaded now), existing (already held), unsupported (a driver without an
 * image cache) or error.
 */
import { getLogger } from '../common/log/logger.ts';
import type { VirtDriver } from './virt/driver.ts';

const log = getLogger('compute.image_cache');

export type ImageCacheOutcome = 'cached' | 'existing' | 'unsupported' | 'error';

export async function cacheImages(
  driver: VirtDriver,
  host: string,
  imageIds: readonly string[],
): Promise<Record<string, ImageCacheOutcome>> {
  log.info({ host, images: imageIds }, `caching ${imageIds.length} image(s) by request`);
  const outcomes: Record<string, ImageCacheOutcome> = {};
  for (const imageId of imageIds) {
    outcomes[imageId] = await cacheOne(driver, imageId);
  }
  log.info({ host, outcomes }, 'image pre-caching finished');
  return outcomes;
}

async function cacheOne(driver: VirtDriver, imageId: string): Promise<ImageCacheOutcome> {
  if (!driver.cacheImage) {
    log.warn({ image: imageId }, 'the virt driver does not support image pre-caching; ignoring the request');
    return 'unsupported';
  }
  try {
    return (await driver.cacheImage(imageId)) ? 'cached' : 'existing';
  } catch (err) {
    log.error({ image: imageId, err: (err as Error).message }, 'failed to cache an image');
    return 'error';
  }
}
