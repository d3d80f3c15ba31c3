/**
 * instance.update for a change the API saves itself (a rename, a new description, access addresses,
 * hostname, disk config), as Nova's Instance.save sends it whenever [notifications]
 * notify_on_state_change is set: the states unchanged on both sides, and the old name when it changed.
 * The payload is the compute host's (compute/notifications/instance-payloads.ts), with what the database
 * knows and a compute host does not filled in.
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import type { VersionedObject } from '../../../common/notifications/notifier.ts';
import { notificationTime } from '../../../common/notifications/payload-fields.ts';
import { updatePayload } from '../../../wire/notifications/instance-payloads.ts';
import { buildNetworkInfo, instancePortIds } from '../../../network/network-info.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import { tagsOfInstance } from '../../../objects/instance-tags.ts';
import type { Instance } from '../../../objects/instances.ts';

export async function apiInstanceUpdatePayload(
  db: Db,
  ctx: RequestContext,
  instance: Instance,
  oldDisplayName: string | null,
  now: Date = new Date(),
): Promise<VersionedObject> {
  const [networkInfo, tags] = await Promise.all([
    instancePortIds(db, instance.uuid).then((ids) => buildNetworkInfo(db, ids, { securityRules: false })),
    tagsOfInstance(db, instance.uuid),
  ]);
  const facts = { instance: instancePayload(instance), networkInfo, progress: instance.progress, deletedAt: null };
  const states = { vm_state: instance.vm_state, task_state: instance.task_state };
  const renamed = oldDisplayName !== null && oldDisplayName !== instance.display_name ? oldDisplayName : null;
  const payload = updatePayload(ctx, facts, states, now, renamed);
  Object.assign(payload['nova_object.data'], {
    reservation_id: instance.reservation_id,
    display_description: instance.display_description,
    availability_zone: instance.availability_zone,
    key_name: instance.key_name,
    created_at: notificationTime(instance.created_at),
    updated_at: notificationTime(instance.updated_at),
    locked: instance.locked,
    locked_reason: instance.locked_reason,
    auto_disk_config: instance.auto_disk_config ? 'AUTO' : 'MANUAL',
    tags,
  });
  return payload;
}
