/**
 * The admin action `os-resetState`: puts a server in vm_state active or error and clears its task,
 * whatever state it is in (the way out for a server a failure left stuck), recorded as the instance
 * action `resetState`. No host is told: it only corrects the database, as in Nova.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { finishAction, InstanceAction, startAction } from '../../../objects/instance-actions.ts';
import { VmState } from '../../../wire/messages/instance-states.ts';
import { changeInstance, type Instance } from '../../../objects/instances.ts';
import { authorize, ownedBy } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { validateBody } from '../validate.ts';

const ResetStateSchema = Type.Object(
  {
    'os-resetState': Type.Object(
      { state: Type.Union([Type.Literal('active'), Type.Literal('error')]) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

interface ResetStateBody {
  'os-resetState': { state: 'active' | 'error' };
}

const STATES = { active: VmState.ACTIVE, error: VmState.ERROR } as const;

export async function resetServerState(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<void> {
  const { state } = validateBody<ResetStateBody>(ResetStateSchema, request.body)['os-resetState'];
  authorize(request.ctx, 'os_compute_api:os-admin-actions:reset_state', ownedBy(instance));
  const db = deps.database.db;
  await startAction(db, request.ctx, instance.uuid, InstanceAction.RESET_STATE);
  await changeInstance(db, instance.uuid, { vm_state: STATES[state], task_state: null });
  await finishAction(db, request.ctx, instance.uuid);
  void reply.code(202);
}
