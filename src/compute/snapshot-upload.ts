/**
 * A guest's root disk captured by the driver and uploaded into a queued image: what createImage, shelve
 * and createBackup share (Nova's driver.snapshot with its update_task_state callback). `phase` is told
 * when the capture starts ('pending') and when the upload starts ('uploading'), so each action records
 * its own task states. On failure the image is deleted (Nova's delete_image_on_error) and the error
 * thrown again; the captured data is discarded whatever happens.
 */
import { getLogger } from '../common/log/logger.ts';
import type { SnapshotImageSink } from './image/image-client.ts';
import type { VirtDriver } from './virt/driver.ts';

const log = getLogger('compute');

export type UploadPhase = 'pending' | 'uploading';

export async function uploadDiskImage(
  driver: VirtDriver,
  images: SnapshotImageSink,
  uuid: string,
  imageId: string,
  phase: (next: UploadPhase) => Promise<void>,
): Promise<void> {
  try {
    await phase('pending');
    const data = await driver.snapshot(uuid);
    try {
      await phase('uploading');
      await images.upload(imageId, data.open(), { diskFormat: data.diskFormat, containerFormat: data.containerFormat });
    } finally {
      await data.discard();
    }
  } catch (err) {
    log.warn({ instance: uuid, image: imageId, err: (err as Error).message }, 'disk upload failed; deleting its image');
    await images
      .delete(imageId)
      .catch((e: Error) =>
        log.error({ image: imageId, err: e.message }, 'could not delete the image of a failed upload'),
      );
    throw err;
  }
}
