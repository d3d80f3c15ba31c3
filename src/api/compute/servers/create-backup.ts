/**
 * The createBackup server action (`openstack server backup create`), as Nova's: createImage's states and
 * image, plus the image properties image_type=backup and backup_type, and a rotation: once the backup
 * is uploaded, the compute host deletes the server's backups of that type beyond the newest `rotation`
 * (0 deletes them all). Task image_backup, instance action createBackup, no lock check (a backup changes
 * nothing of the server). 202 with `{"image_id": ...}` from 2.45; before, a Location header, left out
 * when the rotation is 0 (Nova's answer).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { InstanceAction } from '../../../objects/instance-actions.ts';
import type { Instance } from '../../../objects/instances.ts';
import { TaskState } from '../../../wire/messages/instance-states.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { Metadata, Name, toInt } from '../schema-types.ts';
import { validateBody } from '../validate.ts';
import { assertActionAllowed, type ActionRule } from './actions.ts';
import { createServerImage, imageAccepted, runImageAction, SNAPSHOT_VM_STATES } from './create-image.ts';

/** Nova's parameter_types.non_negative_integer: an integer, or a string of digits. */
const NonNegativeInteger: TSchema = Type.Unsafe({
  type: ['integer', 'string'],
  pattern: '^[0-9]*$',
  minimum: 0,
  minLength: 1,
});

const CreateBackupSchema = Type.Object(
  {
    createBackup: Type.Object(
      {
        name: Name,
        backup_type: Type.String(),
        rotation: NonNegativeInteger,
        metadata: Type.Optional(Metadata()),
      },
      { required: ['name', 'backup_type', 'rotation'], additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
interface CreateBackupBody {
  createBackup: { name: string; backup_type: string; rotation: number | string; metadata?: Record<string, string> };
}

const BACKUP: Omit<ActionRule, 'cast'> = {
  name: 'createBackup',
  action: InstanceAction.BACKUP,
  vmStates: SNAPSHOT_VM_STATES,
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.IMAGE_BACKUP,
  ignoresLock: true,
};

export async function createBackup(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const { createBackup: body } = validateBody<CreateBackupBody>(CreateBackupSchema, request.body);
  const rotation = toInt(body.rotation);
  // Refused before the image exists, so a server in the wrong state leaves no image behind.
  assertActionAllowed(instance, BACKUP, request.ctx.isAdmin);
  const imageId = await createServerImage(deps, request.ctx, instance, body.name, {
    image_type: 'backup',
    ...(body.metadata ?? {}),
    backup_type: body.backup_type,
  });
  const backup = { imageId, backupType: body.backup_type, rotation };
  const rule: ActionRule = {
    ...BACKUP,
    cast: (d, r, host, payload) => d.compute.backupInstance(r.ctx, host, payload, backup),
  };
  await runImageAction(deps, request, instance, rule, imageId);
  return imageAccepted(deps, request, reply, imageId, rotation > 0);
}
