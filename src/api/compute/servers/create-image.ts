/**
 * The createImage server action (a snapshot, `openstack server image create`), as Nova's: the server must
 * have launched and be ACTIVE, SHUTOFF, PAUSED or SUSPENDED with no task. The API creates the image record
 * (queued, private, owned by the server's project, `image_type=snapshot`, `instance_uuid`, `base_image_ref`
 * and what the base image carries that makes it boot: formats, kernel_id/ramdisk_id/os_command_line and
 * the other inheritable properties), claims the server with task_state image_snapshot and casts
 * `snapshot_instance` to its compute host, which uploads the disk into the image. 202 with
 * `{"image_id": ...}` from microversion 2.45, a Location header and no body before.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { InstanceAction } from '../../../objects/instance-actions.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import type { Instance } from '../../../objects/instances.ts';
import { serviceUrl } from '../../../common/config/service-urls.ts';
import type { ComputeApiDeps } from '../deps.ts';
import type { ImageSummary } from '../image-lookup.ts';
import { atLeast } from '../microversion.ts';
import { Metadata, Name } from '../schema-types.ts';
import { validateBody } from '../validate.ts';
import { assertActionAllowed, runAction, type ActionRule } from './actions.ts';

const CreateImageSchema = Type.Object(
  {
    createImage: Type.Object(
      { name: Name, metadata: Type.Optional(Metadata()) },
      { required: ['name'], additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
interface CreateImageBody {
  createImage: { name: string; metadata?: Record<string, string> };
}

/** From this microversion the answer is `{"image_id": ...}` instead of a Location header. */
const IMAGE_ID_BODY_VERSION = '2.45';

/**
 * Base image properties a snapshot does not inherit (Nova's NON_INHERITABLE_IMAGE_PROPERTIES: a
 * signature is of the base's bytes, not the snapshot's), and Glance's reserved prefix.
 */
const NOT_INHERITED = new Set([
  'cache_in_nova',
  'bittorrent',
  'img_signature',
  'img_signature_hash_method',
  'img_signature_key_type',
  'img_signature_certificate_uuid',
]);
const RESERVED_PREFIX = 'os_glance';

/** The states a server's disk can be snapshotted in (disk snapshots allow the same: disk-snapshots.ts). */
export const SNAPSHOT_VM_STATES: readonly string[] = [
  VmState.ACTIVE,
  VmState.STOPPED,
  VmState.PAUSED,
  VmState.SUSPENDED,
];

const SNAPSHOT: Omit<ActionRule, 'cast'> = {
  name: 'createImage',
  action: InstanceAction.CREATE_IMAGE,
  vmStates: SNAPSHOT_VM_STATES,
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.IMAGE_SNAPSHOT,
  ignoresLock: true,
};

export async function createImage(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const { createImage: body } = validateBody<CreateImageBody>(CreateImageSchema, request.body);
  const ctx = request.ctx;
  // Refused before an image exists, so a server in the wrong state leaves no image behind.
  assertActionAllowed(instance, SNAPSHOT, ctx.isAdmin);

  const base = await deps.images.getImage(ctx, instance.image_ref);
  const imageId = await deps.images.createSnapshotImage(ctx, {
    name: body.name,
    owner: instance.project_id,
    // The compute host records the format of the data it uploads; these hold until then.
    diskFormat: base?.disk_format ?? null,
    containerFormat: base?.container_format ?? null,
    minRam: base?.min_ram ?? 0,
    // The snapshot is the server's whole root disk: a smaller one could not hold it.
    minDisk: Math.max(base?.min_disk ?? 0, instance.flavor.root_gb),
    properties: snapshotProperties(base, instance, ctx.userId, body.metadata ?? {}),
  });
  const rule: ActionRule = {
    ...SNAPSHOT,
    cast: (d, r, host, payload) => d.compute.snapshotInstance(r.ctx, host, payload, imageId),
  };
  try {
    await runAction(deps, request, instance, rule);
  } catch (err) {
    // The server changed under us or its host is unreachable: nothing will upload into the image.
    await deps.images.deleteImage(ctx, imageId).catch(() => undefined);
    throw err;
  }
  void reply.code(202);
  if (atLeast(request, IMAGE_ID_BODY_VERSION)) return reply.send({ image_id: imageId });
  // Nova's generate_image_url: the image endpoint's base, then /images/<id>.
  void reply.header('location', `${serviceUrl(deps.config, 'image')}/images/${imageId}`);
  return reply.send();
}

/** The base image's inheritable properties, then the snapshot's own, then the caller's metadata. */
function snapshotProperties(
  base: ImageSummary | null,
  instance: Instance,
  userId: string | null,
  metadata: Record<string, string>,
): Record<string, string> {
  const inherited = Object.entries(base?.properties ?? {}).filter(
    ([key]) => !NOT_INHERITED.has(key) && !key.startsWith(RESERVED_PREFIX),
  );
  return {
    ...Object.fromEntries(inherited),
    image_type: 'snapshot',
    instance_uuid: instance.uuid,
    ...(userId ? { user_id: userId } : {}),
    base_image_ref: instance.image_ref,
    ...metadata,
  };
}
