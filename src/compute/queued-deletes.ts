/**
 * The compute host's periodic reclaim of soft-deleted instances (Nova's _reclaim_queued_deletes): those
 * of this host that wait with no task and were deleted longer than `[DEFAULT] reclaim_instance_interval`
 * ago (host-duties/reclaim.ts decides which) are deleted for good, as terminate_instance deletes: the guest
 * destroyed, then the conductor marks the instance deleted and frees its allocations. The task `deleting`
 * is claimed first, guarded by the states read, so a restore racing with it either wins or is refused.
 */
import { adminContext, type RequestContext } from '../common/context.ts';
import { InstanceInvalidState, NotFound } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import type { ConductorRpcApi } from '../wire/contracts/conductor.ts';
import { TaskState, VmState } from '../wire/messages/instance-states.ts';
import { reclaimDue } from './host-duties/reclaim.ts';

const log = getLogger('compute');

export interface ReclaimDeps {
  host: string;
  intervalSec: number;
  /** Removes the guest and its disks, then unplugs its ports (the manager's destroyGuest). */
  destroyGuest(uuid: string): Promise<void>;
  conductor: ConductorRpcApi;
  /** Runs the work after any other host duty on the same instance (the manager's serialization). */
  serialized(uuid: string, work: () => Promise<void>): Promise<void>;
}

export async function reclaimQueuedDeletes(deps: ReclaimDeps, now: number): Promise<void> {
  if (deps.intervalSec <= 0) return;
  const ctx = adminContext();
  const queued = (await deps.conductor.instancesOnHost(ctx, deps.host))
    .filter((i) => i.vm_state === VmState.SOFT_DELETED && i.task_state === null)
    .map((i) => i.uuid);
  if (!queued.length) return;
  for (const uuid of reclaimDue(await deps.conductor.instancesByUuid(ctx, queued), deps.intervalSec, now)) {
    await deps
      .serialized(uuid, () => reclaim(deps, ctx, uuid))
      .catch((err: Error) =>
        log.warn({ instance: uuid, err: err.message }, 'periodic reclaim failed to delete the instance'),
      );
  }
}

async function reclaim(deps: ReclaimDeps, ctx: RequestContext, uuid: string): Promise<void> {
  try {
    await deps.conductor.instanceUpdate(ctx, uuid, { task_state: TaskState.DELETING }, [null], undefined, [
      VmState.SOFT_DELETED,
    ]);
  } catch (err) {
    if (err instanceof InstanceInvalidState || err instanceof NotFound) {
      return log.info({ instance: uuid }, 'instance restored or deleted meanwhile; not reclaimed');
    }
    throw err;
  }
  log.info({ instance: uuid }, 'reclaiming deleted instance');
  try {
    await deps.destroyGuest(uuid);
  } catch (err) {
    // Back in the queue: the next period tries again.
    await deps.conductor.instanceUpdate(ctx, uuid, { task_state: null }, [TaskState.DELETING]).catch(() => undefined);
    throw err;
  }
  await deps.conductor.instanceDeleted(ctx, uuid);
}
