/**
 * The shelve, shelveOffload and unshelve server actions, as Nova's (api/openstack/compute/shelve.py and
 * compute/api.py):
 * - shelve (ACTIVE, SHUTOFF, PAUSED, SUSPENDED; no task; not locked): the API creates the queued image
 *   `<name>-shelved` as createImage does, sets task `shelving` and casts `shelve_instance` to the host,
 *   which powers off, uploads the disk into the image, records SHELVED and offloads when
 *   `[DEFAULT] shelved_offload_time` says so.
 * - shelveOffload (SHELVED; admin, Nova's default policy): task `shelving_offloading`, cast to the host,
 *   which destroys the guest; the conductor frees its allocations and its host.
 * - unshelve (SHELVED or SHELVED_OFFLOADED): task `unshelving`, cast to the conductor, which powers the
 *   guest on where it is or schedules it again. An offloaded server's cores and ram are checked against
 *   quota first when usage is counted from placement (the only case where it holds none while offloaded).
 *   From 2.77 the body may name an availability zone, from 2.91 also a host (admin) or a null zone (unpin);
 *   both only for an offloaded server.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { BadRequest, Conflict } from '../../../common/errors.ts';
import { availabilityZoneOfHost } from '../../../objects/aggregates.ts';
import { InstanceAction } from '../../../objects/instance-actions.ts';
import type { Instance } from '../../../objects/instances.ts';
import { checkDeltas } from '../../../objects/quotas.ts';
import { getRequestSpec, saveRequestSpec } from '../../../objects/request-specs.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import { authorize, ownedBy } from '../../policy.ts';
import { availableZones } from '../availability-zones/routes.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { Name } from '../schema-types.ts';
import { validateBody } from '../validate.ts';
import { assertActionAllowed, runAction, type ActionRule } from './actions.ts';
import { createServerImage, runImageAction, SNAPSHOT_VM_STATES } from './create-image.ts';
import { bareActionSchema } from './schemas.ts';

const SHELVE: ActionRule = {
  name: 'shelve',
  action: InstanceAction.SHELVE,
  vmStates: SNAPSHOT_VM_STATES,
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.SHELVING,
  // Replaced per request by one that names the image.
  cast: async () => undefined,
};

const SHELVE_OFFLOAD: ActionRule = {
  name: 'shelveOffload',
  action: InstanceAction.SHELVE_OFFLOAD,
  vmStates: [VmState.SHELVED],
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.SHELVING_OFFLOADING,
  cast: (deps, request, host, instance) => deps.compute.shelveOffloadInstance(request.ctx, host, instance),
};

const UNSHELVE: ActionRule = {
  name: 'unshelve',
  action: InstanceAction.UNSHELVE,
  vmStates: [VmState.SHELVED, VmState.SHELVED_OFFLOADED],
  taskStates: [null],
  needsHost: false,
  // An offloaded server has no host: the conductor finds it one.
  hostless: true,
  setTask: TaskState.UNSHELVING,
  cast: (deps, request, _host, instance) => deps.conductor.unshelveInstance(request.ctx, instance.uuid),
};

/** 2.77 to 2.90: null, or an object naming the zone (required). */
const UnshelveV277Schema: TSchema = Type.Unsafe({
  type: 'object',
  properties: {
    unshelve: {
      type: ['object', 'null'],
      properties: { availability_zone: Name },
      required: ['availability_zone'],
      additionalProperties: false,
    },
  },
  required: ['unshelve'],
  additionalProperties: false,
});

/** 2.91 on: null, or an object with a zone (a string, or null to unpin) and/or a host. */
const UnshelveV291Schema: TSchema = Type.Unsafe({
  type: 'object',
  properties: {
    unshelve: {
      type: ['object', 'null'],
      properties: { availability_zone: { type: ['string', 'null'] }, host: { type: 'string' } },
      additionalProperties: false,
    },
  },
  required: ['unshelve'],
  additionalProperties: false,
});

interface UnshelveBody {
  unshelve: { availability_zone?: string | null; host?: string } | null;
}

export async function shelveServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  validateBody(bareActionSchema('shelve'), request.body);
  // Refused before the image exists, so a server in the wrong state leaves no image behind.
  assertActionAllowed(instance, SHELVE, request.ctx.isAdmin);
  const imageId = await createServerImage(deps, request.ctx, instance, `${instance.display_name}-shelved`, {
    image_type: 'snapshot',
  });
  const rule: ActionRule = {
    ...SHELVE,
    cast: (d, r, host, payload) => d.compute.shelveInstance(r.ctx, host, payload, imageId),
  };
  await runImageAction(deps, request, instance, rule, imageId);
  return reply.code(202).send();
}

export async function shelveOffloadServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  validateBody(bareActionSchema('shelveOffload'), request.body);
  authorize(request.ctx, 'os_compute_api:os-shelve:shelve_offload', ownedBy(instance));
  await runAction(deps, request, instance, SHELVE_OFFLOAD);
  return reply.code(202).send();
}

export async function unshelveServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const schema = atLeast(request, '2.91')
    ? UnshelveV291Schema
    : atLeast(request, '2.77')
      ? UnshelveV277Schema
      : bareActionSchema('unshelve');
  const { unshelve } = validateBody<UnshelveBody>(schema, request.body);
  const ctx = request.ctx;
  const db = deps.database.db;
  const azPassed = atLeast(request, '2.77') && !!unshelve && 'availability_zone' in unshelve;
  const newAz = azPassed ? (unshelve!.availability_zone ?? null) : null;
  const host = atLeast(request, '2.91') ? (unshelve?.host ?? null) : null;

  assertActionAllowed(instance, UNSHELVE, ctx.isAdmin);
  const offloaded = instance.vm_state === VmState.SHELVED_OFFLOADED;
  if (offloaded) await checkUnshelveQuota(deps, instance);
  if ((azPassed || host) && !offloaded) {
    throw new Conflict(
      `Specifying an availability zone or a host when unshelving server "${instance.uuid}" with status ` +
        `"${instance.vm_state}" is not supported. The server status must be SHELVED_OFFLOADED.`,
    );
  }
  if (newAz && !(await availableZones(db, deps.config)).has(newAz)) {
    throw new BadRequest('The requested availability zone is not available');
  }
  const spec = await getRequestSpec(db, instance.uuid);
  const zone = azPassed ? newAz : spec.availability_zone;
  if (host) await checkRequestedHost(deps, request, host, zone);
  if (zone !== spec.availability_zone) await saveRequestSpec(db, instance.uuid, { ...spec, availability_zone: zone });

  const rule: ActionRule = host
    ? { ...UNSHELVE, cast: (d, r, _host, payload) => d.conductor.unshelveInstance(r.ctx, payload.uuid, host) }
    : UNSHELVE;
  await runAction(deps, request, instance, rule);
  return reply.code(202).send();
}

/**
 * Nova's _check_quota_unshelve_offloaded: only when cores and ram are counted from placement does an
 * offloaded server hold none, so only then can its unshelve go over quota (its instance still counts).
 */
async function checkUnshelveQuota(deps: ComputeApiDeps, instance: Instance): Promise<void> {
  if (!deps.config.quota.count_usage_from_placement) return;
  const deltas = { instances: 0, cores: instance.flavor.vcpus, ram: instance.flavor.memory_mb };
  await checkDeltas(
    deps.database.db,
    deps.config,
    deltas,
    { projectId: instance.project_id, userId: instance.user_id },
    (over) => `Quota exceeded for resources: [${over.overs.map((r) => `'${r}'`).join(', ')}]`,
  );
}

/** 2.91's host: admins only, a compute host that exists, in the zone the server will be pinned to. */
async function checkRequestedHost(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  host: string,
  zone: string | null,
): Promise<void> {
  authorize(request.ctx, 'os_compute_api:os-shelve:unshelve_to_host');
  const db = deps.database.db;
  const node = await db
    .selectFrom('compute_nodes')
    .select('id')
    .where('host', '=', host)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!node) throw new BadRequest(`Compute host ${host} could not be found.`);
  if (
    zone !== null &&
    (await availabilityZoneOfHost(db, host, deps.config.DEFAULT.default_availability_zone)) !== zone
  ) {
    throw new Conflict(`Host "${host}" is not in the availability zone "${zone}".`);
  }
}
