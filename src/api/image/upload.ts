/**
 * Uploading image data: queued → saving → active, with the data streamed into the store (never held in
 * memory) and hashed on the way. Any failure (size cap, client gone, disk full) puts the image back to
 * queued with nothing stored, so the upload can simply be retried.
 */
import { finished, type Readable } from 'node:stream';
import type { RequestContext } from '../../common/context.ts';
import { BadRequest, Conflict, StratusError } from '../../common/errors.ts';
import type { Db } from '../../common/db/database.ts';
import { getLogger } from '../../common/log/logger.ts';
import { requireModify, requireVisible } from './access.ts';
import { findImage, swapStatus } from './db/queries.ts';
import { Gone, RequestEntityTooLarge } from './errors.ts';
import type { Image } from './model.ts';
import type { ImageStore, StoredData } from './store/image-store.ts';
import { HeadCapture, virtualSize } from './virtual-size.ts';

const log = getLogger('api.image');

export interface UploadOptions {
  /** `[image] image_size_cap`. */
  readonly sizeCap: number;
  /** The size the client announced (Content-Length), to refuse an oversized upload before reading it. */
  readonly declaredSize?: number;
}

export async function uploadData(
  db: Db,
  store: ImageStore,
  ctx: RequestContext,
  id: string,
  data: Readable,
  options: UploadOptions,
): Promise<Image> {
  const image = requireVisible(ctx, await findImage(db, id), id);
  requireModify(ctx, image, 'upload data to');
  if (image.status !== 'queued')
    throw new Conflict(`Image status transition from ${image.status} to saving is not allowed`);
  // Glance's rule: data without its formats would make an active image no one can boot or convert.
  const missing = (['disk_format', 'container_format'] as const).filter(
    (name) => (name === 'disk_format' ? image.diskFormat : image.containerFormat) === null,
  );
  if (missing.length > 0) {
    throw new BadRequest(
      `${missing.length === 1 ? 'Property' : 'Properties'} ${missing.join(', ')} must be set prior to saving data.`,
    );
  }
  if (options.declaredSize !== undefined && options.declaredSize > options.sizeCap) {
    throw new RequestEntityTooLarge(
      `The incoming image is too large: ${options.declaredSize} bytes exceeds the limit of ${options.sizeCap} bytes.`,
    );
  }
  if (!(await swapStatus(db, id, 'queued', 'saving'))) {
    throw new Conflict('Image status transition from queued to saving is not allowed: another upload is in progress.');
  }

  const head = new HeadCapture();
  const release = feed(data, head);
  let stored: StoredData;
  try {
    stored = await store.put(head, { imageId: id, maxSize: options.sizeCap });
  } catch (err) {
    await swapStatus(db, id, 'saving', 'queued').catch((e: unknown) =>
      log.error({ err: e, image: id }, 'cannot restore image to queued'),
    );
    throw asUploadError(err);
  } finally {
    release();
  }

  const finished = await swapStatus(db, id, 'saving', 'active', {
    size: stored.size,
    virtual_size: virtualSize(image.diskFormat, head.bytes, stored.size),
    checksum: stored.checksum,
    os_hash_algo: stored.hashAlgo,
    os_hash_value: stored.hash,
    location: stored.location,
  });
  if (!finished) {
    await store.delete(stored.location);
    throw new Gone(`Image ${id} could not be found after upload. The image may have been deleted during the upload.`);
  }
  return (await findImage(db, id)) ?? image;
}

/**
 * Pipes the request into `target`, failing `target` if the client goes away mid-upload. Unlike
 * pipeline(), a failure downstream (the size cap) does not destroy the request, which would reset the
 * connection before the 413 reaches the client: the returned release function instead discards the
 * rest of the body, so the client can finish sending and read the answer.
 */
function feed(source: Readable, target: HeadCapture): () => void {
  source.pipe(target);
  const stopWatching = finished(source, (err) => {
    if (err) target.destroy(err);
  });
  return () => {
    stopWatching();
    source.unpipe(target);
    if (!source.destroyed && !source.readableEnded) source.resume();
  };
}

/** Declared errors keep their status; a broken client stream is the client's problem (400), not a 500. */
function asUploadError(err: unknown): unknown {
  if (err instanceof StratusError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'ECONNABORTED') {
    return new BadRequest('The upload of the image data was interrupted before it completed.');
  }
  return err;
}
