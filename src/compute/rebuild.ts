/**
 * The compute side of a rebuild (Nova's rebuild_instance): the API has stored the new image and
 * attributes in the instance and set task_state rebuilding. The guest is stopped and its disks recreated
 * from the new image (rebuilding), then rebuild_block_device_mapping and rebuild_spawning while it boots,
 * then ACTIVE with a new launched_at. A server rebuilt while STOPPED ends STOPPED, as in Nova; Stratus
 * does not boot it only to shut it down again. A failure leaves the instance in ERROR with a fault and
 * the action's event in Error; a compute restart in the middle settles it the same way.
 */
import type { RequestContext } from '../common/context.ts';
import { InstanceInvalidState, NotFound } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import type { RebuildArgs } from '../wire/contracts/compute.ts';
import type { InstanceChangesPayload, InstancePayload } from '../wire/messages/instance-payload.ts';
import { REBUILD_TASKS, TaskState, VmState } from '../wire/messages/instance-states.ts';
import { configDriveContents } from './config-drive.ts';
import type { HostActionSteps } from './host-action-steps.ts';
import { recreateInstance } from './moves/evacuate.ts';
import type { RebuildOptions } from './virt/driver.ts';

const log = getLogger('compute.rebuild');

/** The action event of a rebuild, as Nova's wrap_instance_event names it. */
export const REBUILD_EVENT = 'compute_rebuild_instance';

export async function rebuildInstance(h: HostActionSteps, ctx: RequestContext, args: RebuildArgs): Promise<void> {
  // Evacuate: the guest is built anew here, its host being down (moves/evacuate.ts).
  if (args.recreate) return recreateInstance(h, ctx, args, args.recreate);
  const { instance } = args;
  const uuid = instance.uuid;
  await h.event(ctx, uuid, REBUILD_EVENT, 'start');
  const start = instance.vm_state !== VmState.STOPPED;
  let task: string = TaskState.REBUILDING;
  const advance = async (next: string) => {
    await h.update(ctx, uuid, { task_state: next }, [task]);
    task = next;
  };
  try {
    await h.update(ctx, uuid, { power_state: h.driver.powerState(uuid) }, [TaskState.REBUILDING]);
    const options: RebuildOptions = {
      preserveEphemeral: args.preserve_ephemeral,
      start,
      shutdownTimeoutSec: h.config.DEFAULT.shutdown_timeout,
      disksReady: async () => {
        await advance(TaskState.REBUILD_BLOCK_DEVICE_MAPPING);
        await advance(TaskState.REBUILD_SPAWNING);
      },
      ...(args.config_drive ? { configDrive: configDriveContents(args.config_drive) } : {}),
    };
    await rebuildGuest(h, instance, options);
  } catch (err) {
    const error = err as Error;
    log.warn({ instance: uuid, image: instance.image_ref, task, err: error.message }, 'rebuild failed');
    await h.reportDiskSnapshots(ctx, uuid);
    await h.failAction(ctx, uuid, REBUILD_EVENT, error, REBUILD_TASKS, {
      vm_state: VmState.ERROR,
      power_state: h.driver.powerState(uuid),
    });
    return;
  }
  // The old disk's snapshot links are gone with it: their records end (objects/disk-snapshots.ts).
  await h.reportDiskSnapshots(ctx, uuid);
  const changes: InstanceChangesPayload = {
    vm_state: start ? VmState.ACTIVE : VmState.STOPPED,
    task_state: null,
    power_state: h.driver.powerState(uuid),
    launched_at: new Date().toISOString(),
  };
  try {
    await h.update(ctx, uuid, changes, [TaskState.REBUILD_SPAWNING], { event: REBUILD_EVENT, phase: 'finish' });
  } catch (err) {
    if (!(err instanceof InstanceInvalidState || err instanceof NotFound)) throw err;
    log.info({ instance: uuid }, 'instance changed while it was rebuilt (deleted?); leaving it to that change');
    return;
  }
  log.info({ instance: uuid, from: args.orig_image_ref, to: instance.image_ref, started: start }, 'guest rebuilt');
}

/**
 * The driver's rebuild; a guest this host no longer has (lost with a host's disks, say) is built anew
 * from the image, which is all a rebuild would keep of it anyway.
 */
async function rebuildGuest(h: HostActionSteps, instance: InstancePayload, options: RebuildOptions): Promise<void> {
  if (h.driver.listGuests().some((guest) => guest.uuid === instance.uuid)) {
    return h.driver.rebuild(instance, options);
  }
  log.warn({ instance: instance.uuid }, 'guest to rebuild is not on this host; building it anew');
  await options.disksReady();
  // The new guest gets the interfaces this host recorded for it, plugged again in case they went too.
  const networkInfo = await h.networking.interfacesOf(instance.uuid);
  await h.networking.plugGuest(instance, networkInfo);
  await h.driver.spawn(instance, instance.node ?? h.host, networkInfo, options.configDrive);
  if (!options.start) await h.driver.powerOff(instance.uuid, options.shutdownTimeoutSec);
}

/**
 * A rebuild the previous run of this service did not finish (Nova's init_host): its disks may be half
 * made, so the instance goes to ERROR with a fault; rebuilding again (or deleting) recovers it.
 */
export async function settleInterruptedRebuild(
  h: HostActionSteps,
  ctx: RequestContext,
  instance: InstancePayload,
): Promise<void> {
  log.warn({ instance: instance.uuid, task: instance.task_state }, 'rebuild interrupted by a restart');
  const error = new Error('The compute service restarted while this instance was being rebuilt.');
  await h.failAction(ctx, instance.uuid, REBUILD_EVENT, error, REBUILD_TASKS, {
    vm_state: VmState.ERROR,
    power_state: h.driver.powerState(instance.uuid),
  });
}
