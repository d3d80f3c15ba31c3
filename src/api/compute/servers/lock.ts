/**
 * The `lock` and `unlock` server actions, as Nova's compute API does them: the lock records who locked
 * the server ('owner' when the requester's project owns it, 'admin' otherwise) and, from 2.73, why. A
 * locked server refuses its owner the actions that change or delete it (assertNotLocked); admins pass.
 * Only an admin may lift a lock someone else's side put on (Nova's unlock_override), and an owner's lock
 * of a server it has locked already changes nothing. Both are recorded as instance actions with an
 * `api_lock`/`api_unlock` event on this API's host.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { InstanceAction, recordApiAction } from '../../../objects/instance-actions.ts';
import { changeInstance, type Instance } from '../../../objects/instances.ts';
import { authorize, ownedBy } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { validateBody } from '../validate.ts';
import { bareActionSchema } from './schemas.ts';

/** From 2.73 the body may give a reason: `{"lock": {"locked_reason": "..."}}` or `{"lock": null}`. */
const LockWithReasonSchema = Type.Object(
  {
    lock: Type.Union([
      Type.Null(),
      Type.Object(
        { locked_reason: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) },
        { additionalProperties: false },
      ),
    ]),
  },
  { additionalProperties: false },
);

interface LockWithReasonBody {
  lock: null | { locked_reason?: string };
}

/** Whose side a lock by this requester is on: Nova compares projects, not roles. */
function lockerOf(request: FastifyRequest, instance: Instance): 'owner' | 'admin' {
  return instance.project_id === request.ctx.projectId ? 'owner' : 'admin';
}

export async function lockServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<void> {
  let reason: string | undefined;
  if (atLeast(request, '2.73')) {
    reason = validateBody<LockWithReasonBody>(LockWithReasonSchema, request.body).lock?.locked_reason;
  } else {
    // Before 2.73 the value is anything and means nothing.
    validateBody(bareActionSchema('lock'), request.body);
  }
  void reply.code(202);
  const lockedBy = lockerOf(request, instance);
  if (instance.locked && lockedBy === 'owner') return;
  const db = deps.database.db;
  await recordApiAction(db, request.ctx, instance.uuid, InstanceAction.LOCK, deps.config.DEFAULT.host, () =>
    // A lock without a reason keeps the reason an earlier lock gave, as Nova's does.
    changeInstance(db, instance.uuid, { locked: 1, locked_by: lockedBy, ...(reason ? { locked_reason: reason } : {}) }),
  );
}

export async function unlockServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<void> {
  validateBody(bareActionSchema('unlock'), request.body);
  if (instance.locked_by && instance.locked_by !== lockerOf(request, instance)) {
    authorize(request.ctx, 'os_compute_api:os-lock-server:unlock:unlock_override', ownedBy(instance));
  }
  const db = deps.database.db;
  await recordApiAction(db, request.ctx, instance.uuid, InstanceAction.UNLOCK, deps.config.DEFAULT.host, () =>
    changeInstance(db, instance.uuid, { locked: 0, locked_by: null, locked_reason: null }),
  );
  void reply.code(202);
}
