/**
 * The evacuate server action (admin), as Nova's (evacuate.py and compute/api.py evacuate): a server whose
 * host is down is rebuilt on another host from its image.
 * - Bodies per microversion: `host` (optional), `onSharedStorage` (required before 2.14, gone after),
 *   `adminPass`, `force` (2.29 to 2.67; true needs a host). Stratus has no shared instance storage: the
 *   disk is always rebuilt from the image, so onSharedStorage only decides the password as in Nova.
 * - 404 for an unknown host, 400 for the server's own; 409 unless ACTIVE, STOPPED or ERROR with no task;
 *   400 "Compute service of <host> is still in use." while the source's compute service is up (its
 *   heartbeat recent and not forced down: `openstack compute service set --down`, 2.11).
 * - Task rebuilding, a migration of type evacuation (accepted), action `evacuate`, the new admin password
 *   stored, evacuate_server cast to the conductor. 200: before 2.14 `{"adminPass": ...}` (unless
 *   `[api] enable_instance_password` is off), then no body. From 2.95 the server ends SHUTOFF.
 * A refused cast withdraws the task and puts the migration in error: nothing stays in between.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { BadRequest, NotFound } from '../../../common/errors.ts';
import { InstanceAction, startAction } from '../../../objects/instance-actions.ts';
import type { Instance } from '../../../objects/instances.ts';
import { isServiceUp } from '../../../objects/services.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import { authorize, ownedBy } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { BooleanLike } from '../schema-types.ts';
import { boolFromString, validateBody } from '../validate.ts';
import { assertActionAllowed, claimForAction, type ActionRule } from './actions.ts';
import { adminPassword } from './admin-password.ts';
import { castMoveOrUndo, createSameFlavorMigration } from './move-start.ts';
import { Fqdn } from './schemas.ts';

const EVACUATE_RULE: Omit<ActionRule, 'cast'> = {
  name: 'evacuate',
  action: InstanceAction.EVACUATE,
  vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR],
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.REBUILDING,
  // Nova's evacuate has no lock check: a dead host's servers must be recoverable whoever locked them.
  ignoresLock: true,
};

function evacuateSchema(properties: Record<string, TSchema>, required: string[]): TSchema {
  return Type.Unsafe({
    type: 'object',
    properties: {
      evacuate: {
        type: 'object',
        properties: { host: Fqdn, adminPass: Type.String(), ...properties },
        ...(required.length ? { required } : {}),
        additionalProperties: false,
      },
    },
    required: ['evacuate'],
    additionalProperties: false,
  });
}

const EvacuateSchema = evacuateSchema({ onSharedStorage: BooleanLike }, ['onSharedStorage']);
const EvacuateV214Schema = evacuateSchema({}, []);
const EvacuateV229Schema = evacuateSchema({ force: BooleanLike }, []);

interface EvacuateBody {
  evacuate: { host?: string; adminPass?: string; onSharedStorage?: boolean | string; force?: boolean | string };
}

function schemaFor(request: FastifyRequest): TSchema {
  if (!atLeast(request, '2.14')) return EvacuateSchema;
  if (atLeast(request, '2.29') && !atLeast(request, '2.68')) return EvacuateV229Schema;
  return EvacuateV214Schema;
}

export async function evacuateServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const { evacuate } = validateBody<EvacuateBody>(schemaFor(request), request.body);
  authorize(request.ctx, 'os_compute_api:os-evacuate', ownedBy(instance));
  const db = deps.database.db;
  const host = evacuate.host;
  if (evacuate.force !== undefined && boolFromString(evacuate.force, true, 'force') && !host) {
    throw new BadRequest("Can't force to a non-provided destination");
  }
  const password = evacuatePassword(deps, request, evacuate);
  if (host !== undefined && !(await computeService(deps, host))) {
    throw new NotFound(`Compute host ${host} not found.`);
  }
  if (instance.host === host) throw new BadRequest("The target host can't be the same one.");
  assertActionAllowed(instance, EVACUATE_RULE, request.ctx.isAdmin);
  await assertSourceDown(deps, instance.host!);
  const claimed = await claimForAction(db, instance, EVACUATE_RULE, {
    task_state: TaskState.REBUILDING,
    ...(password === null ? {} : { admin_pass: password }),
  });
  const migration = await createSameFlavorMigration(db, request.ctx, claimed, 'evacuation', host ?? null);
  await startAction(db, request.ctx, instance.uuid, EVACUATE_RULE.action);
  await castMoveOrUndo(db, instance.uuid, migration.uuid, TaskState.REBUILDING, () =>
    deps.conductor.evacuateServer(request.ctx, {
      uuid: instance.uuid,
      migration_uuid: migration.uuid,
      ...(host ? { host } : {}),
      ...(atLeast(request, '2.95') ? { stopped: true } : {}),
    }),
  );
  if (!atLeast(request, '2.14') && deps.config.api.enable_instance_password) {
    return reply.code(200).send({ adminPass: password });
  }
  return reply.code(200).send();
}

/** Nova's evacuate password: the one asked for, else a new one; none kept on shared storage (before 2.14). */
function evacuatePassword(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  body: EvacuateBody['evacuate'],
): string | null {
  const length = deps.config.DEFAULT.password_length;
  if (atLeast(request, '2.14')) return adminPassword(body.adminPass, length);
  const shared = boolFromString(body.onSharedStorage!);
  if (body.adminPass !== undefined) {
    if (shared) throw new BadRequest("admin password can't be changed on existing disk");
    return body.adminPass;
  }
  return shared ? null : adminPassword(undefined, length);
}

/** Nova's ComputeServiceInUse: a host whose compute service is up still runs its guests. */
async function assertSourceDown(deps: ComputeApiDeps, host: string): Promise<void> {
  const service = await computeService(deps, host);
  if (service && isServiceUp(service, deps.config.DEFAULT.service_down_time)) {
    throw new BadRequest(`Compute service of ${host} is still in use.`);
  }
}

function computeService(deps: ComputeApiDeps, host: string) {
  return deps.database.db
    .selectFrom('services')
    .select(['forced_down', 'last_seen_up'])
    .where('host', '=', host)
    .where('binary', '=', 'stratus-compute')
    .executeTakeFirst();
}
