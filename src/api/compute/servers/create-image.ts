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
import type { RequestContext } from '../../../common/context.ts';
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

  const imageId = await createServerImage(deps, ctx, instance, body.name, {
    image_type: 'snapshot',
    ...(body.metadata ?? {}),
  });
  const rule: ActionRule = {
    ...SNAPSHOT,
    cast: (d, r, host, payload) => d.compute.snapshotInstance(r.ctx, host, payload, imageId),
  };
  await runImageAction(deps, request, instance, rule, imageId);
  return imageAccepted(deps, request, reply, imageId);
}

/** runAction for an action that uploads into `imageId`: if it cannot start, the image is deleted. */
export async function runImageAction(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  instance: Instance,
  rule: ActionRule,
  imageId: string,
): Promise<void> {
  try {
    await runAction(deps, request, instance, rule);
  } catch (err) {
    // The server changed under us or its host is unreachable: nothing will upload into the image.
    await deps.images.deleteImage(request.ctx, imageId).catch(() => undefined);
    throw err;
  }
}

/**
 * 202 for an action that made an image: `{"image_id": ...}` from 2.45, before that a Location header
 * (Nova's generate_image_url: the image endpoint's base, then /images/<id>) and no body. `location`
 * false leaves the header out (createBackup with rotation 0, as Nova).
 */
export function imageAccepted(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  imageId: string,
  location = true,
): FastifyReply {
  void reply.code(202);
  if (atLeast(request, IMAGE_ID_BODY_VERSION)) return reply.send({ image_id: imageId });
  if (location) void reply.header('location', `${serviceUrl(deps.config, 'image')}/images/${imageId}`);
  return reply.send();
}

/**
 * Creates the queued image a server's disk is uploaded into (Nova's compute_utils.create_image), for
 * createImage, shelve and createBackup: private, owned by the server's project, with the base image's
 * inheritable properties, the snapshot's own and then `properties` (image_type and the caller's).
 */
export async function createServerImage(
  deps: ComputeApiDeps,
  ctx: RequestContext,
  instance: Instance,
  name: string,
  properties: Record<string, string>,
): Promise<string> {
  const base = await deps.images.getImage(ctx, instance.image_ref);
  return deps.images.createSnapshotImage(ctx, {
    name,
    owner: instance.project_id,
    // The compute host records the format of the data it uploads; these hold until then.
    diskFormat: base?.disk_format ?? null,
    containerFormat: base?.container_format ?? null,
    minRam: base?.min_ram ?? 0,
    // The image is the server's whole root disk: a smaller one could not hold it.
    minDisk: Math.max(base?.min_disk ?? 0, instance.flavor.root_gb),
    properties: snapshotProperties(base, instance, ctx.userId, properties),
  });
}

/** The base image's inheritable properties, then the snapshot's own, then the caller's (image_type first). */
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
    instance_uuid: instance.uuid,
    ...(userId ? { user_id: userId } : {}),
    base_image_ref: instance.image_ref,
    ...metadata,
  };
}
