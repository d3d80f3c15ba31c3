/**
 * Shelve, shelve offload and unshelve on the compute host (Nova's compute manager shelve_instance,
 * shelve_offload_instance and unshelve_instance). The states they write go through the conductor, which
 * alone touches the database:
 * - shelve: the API set `shelving`; the guest is powered off, its disk uploaded into the image the API
 *   created (`shelving_image_pending_upload`, `shelving_image_uploading`), then SHELVED with the image,
 *   time and host recorded; with `[DEFAULT] shelved_offload_time` 0 it is offloaded at once.
 * - offload: the guest and its disks are destroyed; the conductor frees the allocations and the host.
 * - unshelve: a SHELVED guest is powered on where it is; an offloaded one is spawned on the node the
 *   conductor claimed, from the shelved image (`spawning`). Once it runs, the instance is ACTIVE and the
 *   shelved image is deleted. A failed spawn leaves it SHELVED_OFFLOADED with a fault and nothing held.
 * Every failure ends with the task cleared, a fault and the action's event in Error.
 */
import { adminContext, type RequestContext } from '../common/context.ts';
import { getLogger } from '../common/log/logger.ts';
import type { InstancePayload } from '../wire/messages/instance-payload.ts';
import type { NetworkInfo } from '../wire/messages/network-info.ts';
import type { InstanceMetadata } from '../wire/messages/instance-metadata.ts';
import { configDriveContents } from './config-drive.ts';
import { PowerState, TaskState, VmState } from '../wire/messages/instance-states.ts';
import { uploadDiskImage } from './snapshot-upload.ts';
import type { HostActionSteps } from './host-action-steps.ts';

const log = getLogger('compute');

/** The tasks a shelve goes through; a restart in one of them clears it (the guest keeps its state). */
export const SHELVE_TASKS: readonly string[] = [
  TaskState.SHELVING,
  TaskState.SHELVING_IMAGE_PENDING_UPLOAD,
  TaskState.SHELVING_IMAGE_UPLOADING,
];

export class ShelveFlows {
  constructor(private readonly m: HostActionSteps) {}

  async shelve(ctx: RequestContext, instance: InstancePayload, imageId: string): Promise<void> {
    const { m } = this;
    const uuid = instance.uuid;
    const event = 'compute_shelve_instance';
    await m.event(ctx, uuid, event, 'start');
    const offload = m.config.DEFAULT.shelved_offload_time === 0;
    let task: string = TaskState.SHELVING;
    try {
      // A paused guest gets no clean shutdown (Nova: some hypervisors refuse it), the others do.
      const timeout = instance.power_state === PowerState.PAUSED ? 0 : m.config.DEFAULT.shutdown_timeout;
      await m.driver.powerOff(uuid, timeout);
      await uploadDiskImage(m.driver, m.images, uuid, imageId, async (phase) => {
        const next = phase === 'pending' ? TaskState.SHELVING_IMAGE_PENDING_UPLOAD : TaskState.SHELVING_IMAGE_UPLOADING;
        await m.update(ctx, uuid, { task_state: next }, [task]);
        task = next;
      });
      await m.conductor.instanceShelved(ctx, {
        uuid,
        image_id: imageId,
        host: m.host,
        power_state: m.driver.powerState(uuid),
        offload,
      });
    } catch (err) {
      // Also when the image was filled but the instance could not be recorded SHELVED (deleted meanwhile).
      log.warn({ instance: uuid, err: (err as Error).message }, 'shelve failed; deleting its image');
      await m.images.delete(imageId).catch(() => undefined);
      await m.failAction(ctx, uuid, event, err as Error, [task], { power_state: m.driver.powerState(uuid) });
      return;
    }
    log.info({ instance: uuid, image: imageId, offload }, 'instance shelved');
    if (offload && !(await this.offloadGuest(ctx, uuid, event))) return;
    await m.event(ctx, uuid, event, 'finish');
  }

  /** shelveOffload, from the API or the periodic task (task `shelving_offloading` already set). */
  async shelveOffload(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    const event = 'compute_shelve_offload_instance';
    await this.m.event(ctx, instance.uuid, event, 'start');
    if (await this.offloadGuest(ctx, instance.uuid, event)) await this.m.event(ctx, instance.uuid, event, 'finish');
  }

  /**
   * Destroys the guest and hands the instance back to the conductor, which frees its allocations and
   * its host (SHELVED_OFFLOADED). The power state recorded is the guest's once powered off, as Nova's.
   * False (the failure recorded under `event`) if it could not.
   */
  private async offloadGuest(ctx: RequestContext, uuid: string, event: string): Promise<boolean> {
    const { m } = this;
    try {
      if (m.driver.powerState(uuid) !== PowerState.NOSTATE) await m.driver.powerOff(uuid, 0);
      const power = m.driver.powerState(uuid);
      await this.removeOffloadedGuest(uuid);
      await m.conductor.instanceShelveOffloaded(ctx, uuid, power, [TaskState.SHELVING_OFFLOADING]);
    } catch (err) {
      log.warn({ instance: uuid, err: (err as Error).message }, 'shelve offload failed');
      await m.failAction(ctx, uuid, event, err as Error, [TaskState.SHELVING_OFFLOADING], {
        power_state: m.driver.powerState(uuid),
      });
      return false;
    }
    log.info({ instance: uuid }, 'shelved instance offloaded');
    return true;
  }

  /**
   * Destroys an offloaded (or offloading) guest and unplugs its ports. The host's record of its
   * interfaces is kept: an unshelve here that is given none spawns the guest with them again (a
   * restarted compute drops the records of guests it no longer hosts).
   */
  async removeOffloadedGuest(uuid: string): Promise<void> {
    await this.m.driver.destroy(uuid);
    await this.m.networking.unplugGuest(uuid, false);
  }

  /**
   * unshelve: SHELVED (task powering-on, set by the conductor) powers on here; SHELVED_OFFLOADED (task
   * unshelving, host and node set by the conductor's claim) spawns on `node` from `imageId`, with
   * `networkInfo` (its ports bound to this host) or, when the conductor sends none, the interfaces this
   * host recorded for the guest before it was offloaded, and with its config drive (`configDrive`) written
   * afresh here (the offload removed it with the guest).
   */
  async unshelve(
    ctx: RequestContext,
    instance: InstancePayload,
    imageId: string | null,
    node: string | null,
    networkInfo?: NetworkInfo,
    configDrive?: InstanceMetadata,
  ): Promise<void> {
    const { m } = this;
    const uuid = instance.uuid;
    const event = 'compute_unshelve_instance';
    // Member changes that arrive from here on postdate the request's rules: the plug applies them.
    const membersSince = m.networking.memberMark();
    await m.event(ctx, uuid, event, 'start');
    const inPlace = instance.vm_state === VmState.SHELVED;
    const task = inPlace ? TaskState.POWERING_ON : TaskState.SPAWNING;
    try {
      if (inPlace) {
        await m.driver.powerOn(uuid);
      } else {
        await m.update(ctx, uuid, { task_state: TaskState.SPAWNING }, [TaskState.UNSHELVING]);
        if (!imageId || !node) throw new Error(`unshelve of ${uuid} names no image or node to spawn from`);
        await this.spawnFromImage(ctx, instance, imageId, node, networkInfo, configDrive, membersSince);
      }
      await m.conductor.instanceUnshelved(ctx, uuid, m.driver.powerState(uuid), [task]);
    } catch (err) {
      // An instance deleted meanwhile refuses these records, which failAction tolerates.
      log.warn({ instance: uuid, err: (err as Error).message }, 'unshelve failed');
      await m.failAction(ctx, uuid, event, err as Error, [task, TaskState.UNSHELVING], {
        power_state: m.driver.powerState(uuid),
      });
      return;
    }
    // Nova deletes the shelved image once the server runs again; a failure to do so is only logged.
    if (imageId) {
      await m.images
        .delete(imageId)
        .catch((e: Error) =>
          log.warn({ instance: uuid, image: imageId, err: e.message }, 'could not delete the shelved image'),
        );
    }
    await m.event(ctx, uuid, event, 'finish');
    log.info({ instance: uuid, inPlace }, 'instance unshelved');
  }

  /**
   * Spawns the guest from the shelved image. If that fails, the guest's remains are destroyed and the
   * conductor gives the instance back to SHELVED_OFFLOADED (allocations freed, no host), then the error
   * is thrown for the fault and the event.
   */
  private async spawnFromImage(
    ctx: RequestContext,
    instance: InstancePayload,
    imageId: string,
    node: string,
    given: NetworkInfo | undefined,
    configDrive: InstanceMetadata | undefined,
    /** The member mark taken when the request carrying `given` arrived. */
    membersSince: number,
  ): Promise<void> {
    const { m } = this;
    const guest = { ...instance, image_ref: imageId, task_state: TaskState.SPAWNING };
    try {
      const networkInfo = given ?? (await m.networking.interfacesOf(instance.uuid));
      // Recorded interfaces got every member change already; given ones were expanded when sent.
      await m.networking.plugGuest(guest, networkInfo, given ? membersSince : undefined);
      await m.driver.spawn(guest, node, networkInfo, configDriveContents(configDrive));
    } catch (err) {
      await this.removeOffloadedGuest(instance.uuid).catch(() => undefined);
      await m.conductor.instanceShelveOffloaded(ctx, instance.uuid, PowerState.NOSTATE, [TaskState.SPAWNING]);
      throw err;
    }
  }

  /**
   * Periodic (`[DEFAULT] shelved_offload_time` > 0): offloads this host's SHELVED instances with no
   * task shelved longer ago than that, as Nova's _poll_shelved_instances.
   */
  async offloadDueShelved(now = Date.now()): Promise<void> {
    const { m } = this;
    const seconds = m.config.DEFAULT.shelved_offload_time;
    if (seconds <= 0) return;
    const ctx = adminContext();
    const due = await m.conductor.shelvedInstancesDue(ctx, m.host, new Date(now - seconds * 1000).toISOString());
    for (const instance of due) {
      try {
        await m.conductor.startInstanceAction(ctx, instance.uuid, 'shelveOffload');
        await m.update(ctx, instance.uuid, { task_state: TaskState.SHELVING_OFFLOADING }, [null]);
        await this.shelveOffload(ctx, { ...instance, task_state: TaskState.SHELVING_OFFLOADING });
      } catch (err) {
        log.warn({ instance: instance.uuid, err: (err as Error).message }, 'periodic task could not offload instance');
      }
    }
  }
}
