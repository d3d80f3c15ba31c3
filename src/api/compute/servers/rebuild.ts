/**
 * The rebuild server action (`openstack server rebuild`), as Nova's: a launched server that is ACTIVE,
 * SHUTOFF or ERROR with no task, not locked (admins pass), gets a new root disk from an image. Before
 * anything is written the image (exists, active, fits the flavor, its diskConfig), the key pair (2.54),
 * the user data (2.57) and the metadata quota are checked. Then, in one guarded write, the instance takes
 * the new image and attributes and task_state rebuilding; the `rebuild` action is recorded and
 * `rebuild_instance` cast to its compute host (compute/rebuild.ts). If compute cannot be reached, the old
 * values are put back and the answer is 503. 202 with the server as Nova shows it for a rebuild at the
 * request's microversion, with the admin password unless `[api] enable_instance_password` is false.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, Conflict, InstanceInvalidState, NotFound } from '../../../common/errors.ts';
import { InstanceAction, startAction } from '../../../objects/instance-actions.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import { writeRebuildRecord, type RebuildColumns } from '../../../objects/instance-rebuild.ts';
import { findInstance, getInstance, type Instance } from '../../../objects/instances.ts';
import { getRequestSpec, saveRequestSpec } from '../../../objects/request-specs.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import type { ComputeApiDeps } from '../deps.ts';
import type { ImageLookup, ImageSummary } from '../image-lookup.ts';
import { resourceLinks } from '../links.ts';
import { atLeast } from '../microversion.ts';
import { checkMetadataItems } from '../quotas/enforce.ts';
import { BooleanLike, Description, Metadata, Name, Uuid } from '../schema-types.ts';
import { boolFromString, validateBody } from '../validate.ts';
import { assertActionAllowed, computeUnreachable, refusal, type ActionRule } from './actions.ts';
import { configDriveMetadata, isConfigDrive } from '../../metadata/config-drive-metadata.ts';
import { configDriveColumn } from './config-drive.ts';
import { adminPassword } from './admin-password.ts';
import { checkImageFitsFlavor, checkUserData, requestedKeyPair } from './create-checks.ts';
import { canonicalIpv6, newServerAutoDiskConfig, type DiskConfig as DiskConfigValue } from './disk-config.ts';
import { DiskConfig, Fqdn, Hostname, Ipv4, Ipv6, Personality } from './schemas.ts';
import { loadServerViewData, serverView } from './view.ts';

export interface RebuildBody {
  rebuild: {
    imageRef: string;
    name?: string;
    adminPass?: string;
    metadata?: Record<string, string>;
    preserve_ephemeral?: boolean | string;
    'OS-DCF:diskConfig'?: DiskConfigValue;
    accessIPv4?: string;
    accessIPv6?: string;
    personality?: unknown[];
    description?: string | null;
    key_name?: string | null;
    user_data?: string | null;
    trusted_image_certificates?: string[] | null;
    hostname?: string;
  };
}

const REBUILD: Omit<ActionRule, 'cast'> = {
  name: 'rebuild',
  action: InstanceAction.REBUILD,
  vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR],
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.REBUILDING,
};

const rebuildSchemas = new Map<string, TSchema>();

/** The body schema of the request's microversion (Nova's rebuild, rebuild_v219 ... rebuild_v294). */
export function rebuildSchema(request: FastifyRequest): TSchema {
  const breaks = ['2.19', '2.54', '2.57', '2.63', '2.90', '2.94'].map((v) => atLeast(request, v));
  const key = breaks.join();
  let schema = rebuildSchemas.get(key);
  if (schema) return schema;
  const [v219, v254, v257, v263, v290, v294] = breaks;
  const properties: Record<string, TSchema> = {
    name: Name,
    imageRef: Uuid,
    adminPass: Type.String(),
    metadata: Metadata(),
    preserve_ephemeral: BooleanLike,
    'OS-DCF:diskConfig': DiskConfig,
    accessIPv4: Ipv4,
    accessIPv6: Ipv6,
  };
  if (!v257) properties['personality'] = Personality;
  if (v219) properties['description'] = Description();
  if (v254) properties['key_name'] = Type.Unsafe<string | null>({ anyOf: [Name, { type: 'null' }] });
  if (v257) properties['user_data'] = Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 65535 });
  if (v263) {
    properties['trusted_image_certificates'] = Type.Unsafe<string[] | null>({
      anyOf: [{ type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: 50 }, { type: 'null' }],
    });
  }
  if (v290) properties['hostname'] = v294 ? Fqdn : Hostname;
  schema = Type.Unsafe({
    type: 'object',
    properties: {
      rebuild: { type: 'object', properties, required: ['imageRef'], additionalProperties: false },
    },
    required: ['rebuild'],
    additionalProperties: false,
  });
  rebuildSchemas.set(key, schema);
  return schema;
}

export async function rebuildServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const { rebuild: body } = validateBody<RebuildBody>(rebuildSchema(request), request.body);
  const ctx = request.ctx;
  const db = deps.database.db;
  assertActionAllowed(instance, REBUILD, ctx.isAdmin);
  if (body.trusted_image_certificates) {
    // null asks for no certificates, which is what every Stratus server has.
    throw new BadRequest('Stratus does not verify image signatures: trusted_image_certificates is not supported.');
  }
  if (typeof body.user_data === 'string') checkUserData(body.user_data);
  const image = await rebuildImage(deps.images, ctx, body.imageRef);
  checkImageFitsFlavor(ctx, image, instance.flavor);
  const columns = await rebuildColumns(deps, ctx, instance, body, image);
  if (body.metadata !== undefined) await checkMetadataItems(db, deps.config, ctx, Object.keys(body.metadata).length);
  const preserveEphemeral = body.preserve_ephemeral !== undefined && boolFromString(body.preserve_ephemeral, true);

  const expected = { vmState: REBUILD.vmStates, taskState: REBUILD.taskStates };
  try {
    await writeRebuildRecord(db, instance.uuid, columns, body.metadata, expected);
  } catch (err) {
    if (!(err instanceof InstanceInvalidState)) throw err;
    const now = await findInstance(db, instance.uuid);
    throw new Conflict(
      (now && refusal(now, REBUILD)) ?? `Instance ${instance.uuid} is in an invalid state for 'rebuild'`,
    );
  }
  await startAction(db, ctx, instance.uuid, REBUILD.action);
  const claimed = await getInstance(db, instance.uuid);
  const host = claimed.host!;
  try {
    // The drive is written afresh with what the rebuild changed (the new password, name, metadata).
    const configDrive = await configDriveMetadata(db, deps.config, claimed.uuid, claimed.config_drive);
    await deps.compute.rebuildInstance(ctx, host, {
      instance: instancePayload(claimed),
      orig_image_ref: instance.image_ref,
      preserve_ephemeral: preserveEphemeral,
      ...(configDrive ? { config_drive: configDrive } : {}),
    });
  } catch (err) {
    // Nothing will rebuild the server: it gets back what it had, and no task.
    const previous = previousColumns(instance, columns);
    await writeRebuildRecord(db, instance.uuid, { ...previous, task_state: null }, instance.metadata, {
      vmState: REBUILD.vmStates,
      taskState: [REBUILD.setTask],
    }).catch(() => undefined);
    throw computeUnreachable(host, err);
  }
  await recordSpecImage(db, instance.uuid, image);

  void reply.code(202);
  void reply.header('location', resourceLinks(request, 'servers', claimed.uuid)[0]!.href);
  return reply.send({ server: await rebuildView(deps, request, claimed, columns.admin_pass!) });
}

/** Nova's image lookup for a rebuild, with its messages. */
async function rebuildImage(images: ImageLookup, ctx: RequestContext, imageRef: string): Promise<ImageSummary> {
  const image = await images.getImage(ctx, imageRef);
  if (!image) throw new BadRequest('Cannot find image for rebuild');
  if (image.status !== 'active') throw new BadRequest(`Image ${image.id} is not active.`);
  return image;
}

/**
 * As Nova: the request spec follows a new image, so that later scheduling of this server (a move) sees
 * the image it now runs. A server without a spec (none was stored for it) keeps none.
 */
async function recordSpecImage(db: Db, uuid: string, image: ImageSummary): Promise<void> {
  const spec = await getRequestSpec(db, uuid).catch((err: unknown) => {
    if (err instanceof NotFound) return null;
    throw err;
  });
  if (!spec || spec.image.id === image.id) return;
  await saveRequestSpec(db, uuid, { ...spec, image: { id: image.id, properties: { ...image.properties } } });
}

/** What the rebuild writes into the instance: the new image, task and password, and what the body changes. */
async function rebuildColumns(
  deps: ComputeApiDeps,
  ctx: RequestContext,
  instance: Instance,
  body: RebuildBody['rebuild'],
  image: ImageSummary,
): Promise<RebuildColumns> {
  const columns: RebuildColumns = {
    image_ref: image.id,
    task_state: TaskState.REBUILDING,
    progress: 0,
    admin_pass: adminPassword(body.adminPass, deps.config.DEFAULT.password_length),
    // As create: what was asked (refused if the image disables it), else what the image says.
    auto_disk_config: newServerAutoDiskConfig(body['OS-DCF:diskConfig'], image) ? 1 : 0,
  };
  // Nova's configdrive.update_instance at the rebuilt guest's spawn: a server rebuilt onto an image with
  // img_config_drive=mandatory (or under force_config_drive) gets a drive from then on; none is taken away.
  if (!isConfigDrive(instance.config_drive) && configDriveColumn(undefined, image, deps.config) === 'True') {
    columns.config_drive = 'True';
  }
  if (body.name !== undefined) columns.display_name = body.name.trim();
  if (body.description !== undefined) columns.display_description = body.description;
  if (body.accessIPv4 !== undefined) columns.access_ip_v4 = body.accessIPv4;
  if (body.accessIPv6 !== undefined) columns.access_ip_v6 = canonicalIpv6(body.accessIPv6);
  if (body.hostname !== undefined) columns.hostname = body.hostname;
  if (body.user_data !== undefined) columns.user_data = body.user_data;
  if (body.key_name !== undefined) {
    // The requesting user's key (another user of the project may rebuild the server); null removes it.
    const keyPair = body.key_name === null ? null : await requestedKeyPair(deps.database.db, ctx, body.key_name);
    columns.key_name = keyPair?.name ?? null;
    columns.key_data = keyPair?.public_key ?? null;
    columns.key_type = keyPair?.type ?? null;
  }
  return columns;
}

/** The instance's values of the columns a rebuild set, to put back when compute could not be reached. */
function previousColumns(instance: Instance, columns: RebuildColumns): RebuildColumns {
  const previous: Record<string, unknown> = {};
  for (const column of Object.keys(columns)) previous[column] = instance[column as keyof Instance];
  return previous as RebuildColumns;
}

/**
 * The server as Nova's rebuild answers: before 2.75 without the extended attributes (but key_name from
 * 2.54 and server_groups from 2.71), from 2.75 as show has it; user_data from 2.57 as a key of its own
 * rather than OS-EXT-SRV-ATTR:user_data; the admin password unless the option hides it.
 */
async function rebuildView(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  instance: Instance,
  password: string,
): Promise<Record<string, unknown>> {
  const data = await loadServerViewData(deps.database.db, request, [instance.uuid], { serverGroups: true });
  const full = atLeast(request, '2.75');
  const server = serverView(request, instance, data, deps.config, {
    extended: full,
    hostStatus: full,
    serverGroups: true,
  });
  delete server['OS-EXT-SRV-ATTR:user_data'];
  if (atLeast(request, '2.54')) server['key_name'] = instance.key_name;
  if (atLeast(request, '2.57')) server['user_data'] = instance.user_data;
  if (deps.config.api.enable_instance_password) server['adminPass'] = password;
  return server;
}
