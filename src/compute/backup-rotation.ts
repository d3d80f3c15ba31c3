/**
 * createBackup's rotation (Nova's _rotate_backups): once a backup is uploaded, the server's backups of
 * that type beyond the newest `rotation` are deleted, oldest first; rotation 0 deletes them all. An image
 * that cannot be deleted is logged and the others still go, as in Nova.
 */
import { getLogger } from '../common/log/logger.ts';
import type { SnapshotImageSink } from './image/image-client.ts';

const log = getLogger('compute');

export async function rotateBackups(
  images: SnapshotImageSink,
  instanceUuid: string,
  backupType: string,
  rotation: number,
): Promise<string[]> {
  const newestFirst = await images.backupsOf(instanceUuid, backupType);
  const excess = newestFirst.slice(rotation).reverse();
  const deleted: string[] = [];
  for (const imageId of excess) {
    try {
      await images.delete(imageId);
      deleted.push(imageId);
    } catch (err) {
      log.info(
        { instance: instanceUuid, image: imageId, err: (err as Error).message },
        'could not rotate out a backup',
      );
    }
  }
  if (deleted.length) log.info({ instance: instanceUuid, backupType, rotation, deleted }, 'backups rotated out');
  return deleted;
}
