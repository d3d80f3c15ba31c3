/**
 * Before an offloaded server is scheduled for unshelve, its shelved image must still exist (Nova's
 * conductor looks it up as the `get_image_info` step): when it was deleted meanwhile, no host could
 * spawn the server, so it goes to ERROR with Nova's fault instead of being scheduled, claimed and sent
 * back offloaded by the host that fails. Nova leaves the task `unshelving` on the errored server; Stratus
 * clears it, as no request may leave a server in a task state. A lookup that fails for another reason
 * (the image API unreachable, the conductor without [glance] credentials) decides nothing: the unshelve
 * goes on and the host meets whatever is wrong.
 */
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { getLogger } from '../common/log/logger.ts';
import { ImageMissing, type ImageSource } from '../compute/image/image-client.ts';
import { finishEvent, startEvent } from '../objects/instance-actions.ts';
import { recordFault } from '../objects/instance-faults.ts';
import { changeInstance, type Instance } from '../objects/instances.ts';
import { TaskState, VmState } from '../wire/messages/instance-states.ts';

const log = getLogger('conductor');

/** Nova's event name for the image lookup of an unshelve. */
const IMAGE_EVENT = 'get_image_info';

export type ShelvedImageLookup = Pick<ImageSource, 'getImage'>;

/** True when the shelved image is gone and the server was put in ERROR; false to go on with the unshelve. */
export async function failIfShelvedImageGone(
  db: Db,
  ctx: RequestContext,
  images: ShelvedImageLookup,
  instance: Instance,
): Promise<boolean> {
  const imageId = instance.shelved_image_id;
  if (!imageId) return false;
  await startEvent(db, instance.uuid, ctx.requestId, IMAGE_EVENT, null);
  try {
    await images.getImage(imageId);
  } catch (err) {
    if (err instanceof ImageMissing) {
      const reason = `Unshelve attempted but the image ${imageId} cannot be found.`;
      log.error({ instance: instance.uuid, image: imageId }, reason);
      await changeInstance(
        db,
        instance.uuid,
        { vm_state: VmState.ERROR, task_state: null },
        { taskState: [TaskState.UNSHELVING] },
      );
      await recordFault(db, instance.uuid, { code: 404, message: reason, details: err.stack ?? null, host: null });
      await finishEvent(db, instance.uuid, ctx.requestId, IMAGE_EVENT, 'Error', {
        message: reason,
        traceback: err.stack ?? '',
      });
      return true;
    }
    log.warn(
      { instance: instance.uuid, image: imageId, err: (err as Error).message },
      'could not look up the shelved image; unshelving anyway',
    );
  }
  await finishEvent(db, instance.uuid, ctx.requestId, IMAGE_EVENT, 'Success');
  return false;
}
