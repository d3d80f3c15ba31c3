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
import type { Config } from '../common/config/load-config.ts';
import { adminContext, type RequestContext } from '../common/context.ts';
import { getLogger } from '../common/log/logger.ts';
import type { ConductorRpcApi } from '../wire/contracts/conductor.ts';
import type { InstanceChangesPayload, InstancePayload } from '../wire/messages/instance-payload.ts';
import { PowerState, TaskState, VmState } from '../wire/messages/instance-states.ts';
import type { SnapshotImageSink } from './image/image-client.ts';
import { uploadDiskImage } from './snapshot-upload.ts';
import type { VirtDriver } from './virt/driver.ts';
import type { NetworkInfo } from '../wire/messages/network-info.ts';

const log = getLogger('compute');

/** What the flows need of the compute manager. */
export interface ShelveHost {
  readonly host: string;
  readonly config: Config;
  readonly driver: VirtDriver;
  readonly conductor: ConductorRpcApi;
  readonly images: SnapshotImageSink;
  event(ctx: RequestContext, uuid: string, event: string, phase: 'start' | 'finish', error?: Error): Promise<void>;
  failAction(
    ctx: RequestContext,
    uuid: string,
    event: string,
    error: Error,
    expectedTasks: readonly string[],
    changes?: InstanceChangesPayload,
  ): Promise<void>;
  update(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expected?: readonly (string | null)[],
  ): Promise<void>;
}

/** The tasks a shelve goes through; a restart in one of them clears it (the guest keeps its state). */
export const SHELVE_TASKS: readonly string[] = [
  TaskState.SHELVING,
  TaskState.SHELVING_IMAGE_PENDING_UPLOAD,
  TaskState.SHELVING_IMAGE_UPLOADING,
];

export class ShelveFlows {
  constructor(private readonly m: ShelveHost) {}

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
      await m.driver.destroy(uuid);
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
   * unshelve: SHELVED (task powering-on, set by the conductor) powers on here; SHELVED_OFFLOADED (task
   * unshelving, host and node set by the conductor's claim) spawns on `node` from `imageId`.
   */
  async unshelve(
    ctx: RequestContext,
    instance: InstancePayload,
    imageId: string | null,
    node: string | null,
    networkInfo?: NetworkInfo,
  ): Promise<void> {
    const { m } = this;
    const uuid = instance.uuid;
    const event = 'compute_unshelve_instance';
    await m.event(ctx, uuid, event, 'start');
    const inPlace = instance.vm_state === VmState.SHELVED;
    const task = inPlace ? TaskState.POWERING_ON : TaskState.SPAWNING;
    try {
      if (inPlace) {
        await m.driver.powerOn(uuid);
      } else {
        await m.update(ctx, uuid, { task_state: TaskState.SPAWNING }, [TaskState.UNSHELVING]);
        if (!imageId || !node) throw new Error(`unshelve of ${uuid} names no image or node to spawn from`);
        await this.spawnFromImage(ctx, instance, imageId, node, networkInfo);
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
    networkInfo?: NetworkInfo,
  ): Promise<void> {
    const { m } = this;
    try {
      await m.driver.spawn({ ...instance, image_ref: imageId, task_state: TaskState.SPAWNING }, node, networkInfo);
    } catch (err) {
      await m.driver.destroy(instance.uuid).catch(() => undefined);
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
