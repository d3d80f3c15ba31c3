/**
 * changePassword (Nova's os-admin-password): sets the admin password inside an ACTIVE server's guest.
 * Task `updating_password`, the `changePassword` action, then a call to the host (as Nova's, so the
 * answer says whether it worked): a host that cannot (no guest agent) answers with Nova's 409 and has
 * cleared the task itself. The password is stored nowhere, as in Nova.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { InstanceAction } from '../../../objects/instance-actions.ts';
import type { Instance } from '../../../objects/instances.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { validateBody } from '../validate.ts';
import { runAction, type ActionRule } from './actions.ts';

const ChangePasswordSchema = Type.Object(
  {
    // Nova sets no length or pattern: people use long and strange passwords.
    changePassword: Type.Object({ adminPass: Type.String() }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

interface ChangePasswordBody {
  changePassword: { adminPass: string };
}

export async function changePassword(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<void> {
  const { adminPass } = validateBody<ChangePasswordBody>(ChangePasswordSchema, request.body).changePassword;
  const rule: ActionRule = {
    name: 'changePassword',
    action: InstanceAction.CHANGE_PASSWORD,
    vmStates: [VmState.ACTIVE],
    taskStates: [null],
    needsHost: false,
    setTask: TaskState.UPDATING_PASSWORD,
    cast: (d, r, host, payload) => d.compute.setAdminPassword(r.ctx, host, payload, adminPass),
  };
  await runAction(deps, request, instance, rule);
  void reply.code(202);
}
