/**
 * The deferred delete actions (Nova's os-deferred-delete), for servers a DELETE left SOFT_DELETED while
 * `[DEFAULT] reclaim_instance_interval` is set:
 * - restore: back to ACTIVE. The server is counted against the quotas again (a soft-deleted server is not
 *   counted, though it keeps its resources on its host), so it must fit them: else 403. Then task
 *   `restoring`, its deletion time cleared, and restore_instance cast to the host, which powers it on.
 * - forceDelete: a real delete now, whatever the server's state (Nova checks only the lock).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InstanceAction } from '../../../objects/instance-actions.ts';
import { assertNotLocked, type Instance } from '../../../objects/instances.ts';
import { createQuotaSnapshot } from '../../../objects/quotas.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { serversAllowed } from '../quotas/enforce.ts';
import { validateBody } from '../validate.ts';
import { assertActionAllowed, runAction, type ActionRule } from './actions.ts';
import { deleteServer } from './delete.ts';
import { bareActionSchema } from './schemas.ts';

const RESTORE: ActionRule = {
  name: 'restore',
  action: InstanceAction.RESTORE,
  vmStates: [VmState.SOFT_DELETED],
  taskStates: [null],
  needsHost: false,
  setTask: TaskState.RESTORING,
  alsoSet: { deleted_at: null },
  cast: (deps, request, host, instance) => deps.compute.deferredDeleteAction(request.ctx, host, 'restore', instance),
};

export async function restoreServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<void> {
  validateBody(bareActionSchema('restore'), request.body);
  assertActionAllowed(instance, RESTORE, request.ctx.isAdmin);
  // Nova's check_num_instances_quota for one server of the instance's flavor, in its owner's scope.
  const scope = { projectId: instance.project_id, userId: instance.user_id };
  const snapshot = await createQuotaSnapshot(deps.database.db, deps.config, scope);
  serversAllowed(snapshot, {
    vcpus: instance.flavor.vcpus,
    memoryMb: instance.flavor.memory_mb,
    minCount: 1,
    maxCount: 1,
    metadataItems: 0,
    inGroup: false,
  });
  await runAction(deps, request, instance, RESTORE);
  void reply.code(202);
}

export async function forceDeleteServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<void> {
  validateBody(bareActionSchema('forceDelete'), request.body);
  assertNotLocked(instance, request.ctx.isAdmin);
  await deleteServer(deps, request.ctx, instance);
  void reply.code(202);
}
