/**
 * The rescue and unrescue server actions, as Nova's: rescue boots the server from a rescue image (the
 * one asked for, else its own) with its disk attached second, for repairs; unrescue boots its own disk
 * again. Rescue accepts ACTIVE, SHUTOFF and ERROR servers with no task, answers 200 with the rescue
 * guest's admin password (unless [api] enable_instance_password is off); unrescue accepts RESCUE and
 * answers 202. Both refuse locked servers (admins pass) and cast to the server's compute host.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BadRequest } from '../../../common/errors.ts';
import { InstanceAction } from '../../../objects/instance-actions.ts';
import type { Instance } from '../../../objects/instances.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { Uuid } from '../schema-types.ts';
import { validateBody } from '../validate.ts';
import { runAction, type ActionRule } from './actions.ts';
import { adminPassword } from './admin-password.ts';
import { bareActionSchema } from './schemas.ts';

const RescueSchema = Type.Object(
  {
    rescue: Type.Union([
      Type.Null(),
      Type.Object(
        { adminPass: Type.Optional(Type.String()), rescue_image_ref: Type.Optional(Uuid) },
        { additionalProperties: false },
      ),
    ]),
  },
  { additionalProperties: false },
);
interface RescueBody {
  rescue: null | { adminPass?: string; rescue_image_ref?: string };
}

const RESCUE: Omit<ActionRule, 'cast'> = {
  name: 'rescue',
  action: InstanceAction.RESCUE,
  vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR],
  taskStates: [null],
  needsHost: false,
  setTask: TaskState.RESCUING,
};

const UNRESCUE: ActionRule = {
  name: 'unrescue',
  action: InstanceAction.UNRESCUE,
  vmStates: [VmState.RESCUED],
  taskStates: [null],
  needsHost: false,
  setTask: TaskState.UNRESCUING,
  cast: (deps, request, host, instance) => deps.compute.unrescueInstance(request.ctx, host, instance),
};

export async function rescueServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<{ adminPass?: string }> {
  const { rescue } = validateBody<RescueBody>(RescueSchema, request.body);
  const password = adminPassword(rescue?.adminPass, deps.config.DEFAULT.password_length);
  const imageRef = rescue?.rescue_image_ref ?? null;
  // Nova's UnsupportedRescueImage: an image the requester cannot see is refused before anything changes.
  if (imageRef && !(await deps.images.getImage(request.ctx, imageRef))) {
    throw new BadRequest(`Requested rescue image '${imageRef}' is not supported`);
  }
  await runAction(deps, request, instance, {
    ...RESCUE,
    cast: (d, r, host, payload) => d.compute.rescueInstance(r.ctx, host, payload, password, imageRef),
  });
  void reply.code(200);
  return deps.config.api.enable_instance_password ? { adminPass: password } : {};
}

export async function unrescueServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<void> {
  validateBody(bareActionSchema('unrescue'), request.body);
  await runAction(deps, request, instance, UNRESCUE);
  void reply.code(202);
}
