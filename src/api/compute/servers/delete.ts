/**
 * DELETE /servers/{id}. A server whose host can do the work is handed to it (task_state 'deleting',
 * then terminate_instance cast to compute.<host>, which frees the guest and reports back). When no host
 * can — never scheduled, its compute service down, or the cast refused — the API deletes the record and
 * frees the resources itself (Nova's local delete); a guest left on a down host is reaped when that host
 * comes back (running_deleted_instance_action). Either way no server stays stuck in deletion. With
 * `[DEFAULT] reclaim_instance_interval` set, the delete is deferred (soft_delete_instance; restore and
 * forceDelete in deferred-delete.ts).
 */
import { adminContext, type RequestContext } from '../../../common/context.ts';
import { now } from '../../../common/db/schema.ts';
import { getLogger } from '../../../common/log/logger.ts';
import { InstanceAction, startAction } from '../../../objects/instance-actions.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import { releaseInstancePorts } from '../../../conductor/network-allocation.ts';
import { memberNotices } from '../../../network/member-notices.ts';
import { assertNotLocked, markInstanceDeleted, updateInstance, type Instance } from '../../../objects/instances.ts';
import { isServiceUp } from '../../../objects/services.ts';
import { releaseAllocations, releaseMoveAllocations } from '../../../placement/claims.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { computeServiceOf } from './host-state.ts';
import { findServerFor } from './lookup.ts';

const log = getLogger('api.compute.servers');

export function registerServerDeleteRoute(app: ApiServer, deps: ComputeApiDeps): void {
  app.delete<{ Params: { id: string } }>('/servers/:id', async (request, reply) => {
    const instance = await findServerFor(
      deps.database.db,
      request.ctx,
      request.params.id,
      'os_compute_api:servers:delete',
    );
    assertNotLocked(instance, request.ctx.isAdmin);
    await deleteServer(deps, request.ctx, instance, deps.config.DEFAULT.reclaim_instance_interval > 0);
    void reply.code(204);
  });
}

/**
 * `soft`: a deferred delete (Nova's soft_delete, DELETE with `[DEFAULT] reclaim_instance_interval` > 0):
 * the host powers the guest off and the instance stays SOFT_DELETED, restorable, holding its resources,
 * until the host's reclaim task deletes it. Only a server that was launched can be; as in Nova, another
 * one, or one whose host is down, is deleted for real at once.
 */
export async function deleteServer(
  deps: ComputeApiDeps,
  ctx: RequestContext,
  instance: Instance,
  soft = false,
): Promise<void> {
  const db = deps.database.db;
  await startAction(db, ctx, instance.uuid, InstanceAction.DELETE);
  await deleteShelvedImage(deps, ctx, instance);
  const host = instance.host;
  if (!host) return localDelete(deps, instance.uuid, 'it was never scheduled to a host');
  const service = await computeServiceOf(db, host);
  if (!service || !isServiceUp(service, deps.config.DEFAULT.service_down_time)) {
    return localDelete(deps, instance.uuid, `the compute service of host ${host} is down`);
  }
  try {
    if (soft && instance.launched_at) {
      const changes = { task_state: TaskState.SOFT_DELETING, deleted_at: now() };
      const softDeleting = await updateInstance(db, instance.uuid, changes);
      await deps.compute.deferredDeleteAction(ctx, host, 'soft_delete', instancePayload(softDeleting));
      return;
    }
    const deleting = await updateInstance(db, instance.uuid, { task_state: TaskState.DELETING });
    await deps.compute.terminateInstance(ctx, host, instancePayload(deleting));
  } catch (err) {
    log.warn(
      { instance: instance.uuid, host, err: (err as Error).message },
      'terminate cast refused; deleting locally',
    );
    await localDelete(deps, instance.uuid, `host ${host} could not be reached`);
  }
}

/** A shelved server's image goes with it, as in Nova (a failure is only logged: the delete goes on). */
async function deleteShelvedImage(deps: ComputeApiDeps, ctx: RequestContext, instance: Instance): Promise<void> {
  const shelved = instance.vm_state === VmState.SHELVED || instance.vm_state === VmState.SHELVED_OFFLOADED;
  if (!shelved || !instance.shelved_image_id) return;
  await deps.images
    .deleteImage(ctx, instance.shelved_image_id)
    .catch((err: Error) =>
      log.warn({ instance: instance.uuid, err: err.message }, 'could not delete the image of the shelved server'),
    );
}

async function localDelete(deps: ComputeApiDeps, uuid: string, why: string): Promise<void> {
  log.info({ instance: uuid }, `deleting the server locally: ${why}`);
  await markInstanceDeleted(deps.database.db, uuid);
  await releaseAllocations(deps.database.db, uuid);
  await releaseMoveAllocations(deps.database.db, uuid);
  const groups = await releaseInstancePorts(deps.database.db, uuid);
  await memberNotices(deps.database.db, deps.compute).groupsChanged(adminContext(), groups);
}
