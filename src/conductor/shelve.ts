/**
 * The conductor's part of shelve and unshelve (Nova's conductor unshelve_instance, and the instance
 * saves Nova's compute makes itself, which compute hosts here ask of the conductor):
 * - unshelve of a SHELVED server: task powering-on, cast to its host, which powers the guest on.
 * - unshelve of a SHELVED_OFFLOADED server: scheduled again like a build (its request spec, with the
 *   zone the API recorded; a host an admin named by leaving every other host out), claimed, host and
 *   node set, then `unshelve_instance` cast to the chosen host, which spawns from the shelved image.
 *   A shelved image deleted meanwhile puts the server in ERROR first (shelved-image-check.ts).
 *   No valid host leaves it SHELVED_OFFLOADED with no task, a fault and the event in Error; nothing is
 *   claimed then. Any later failure gives the claim back.
 * - the records compute reports: shelved, offloaded (allocations freed, no host), unshelved.
 */
import { allocateForHost, unbindFromHost } from './network-allocation.ts';
import { remoteGroupsFor } from '../network/network-info.ts';
import { configDriveMetadata } from '../api/metadata/config-drive-metadata.ts';
import type { Config } from '../common/config/load-config.ts';
import type { RequestContext } from '../common/context.ts';
import type { Database } from '../common/db/database.ts';
import { now } from '../common/db/schema.ts';
import { InstanceInvalidState, NotFound, StratusError } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import { finishEvent, startEvent } from '../objects/instance-actions.ts';
import { recordFault } from '../objects/instance-faults.ts';
import { instancePayload } from '../objects/instance-payload.ts';
import { changeInstance, findInstance, listInstances, updateInstance, type Instance } from '../objects/instances.ts';
import { getRequestSpec } from '../objects/request-specs.ts';
import { releaseAllocations } from '../placement/claims.ts';
import type { ComputeRpcApi } from '../wire/contracts/compute.ts';
import type { SchedulerRpcApi } from '../wire/contracts/scheduler.ts';
import type { InstancePayload } from '../wire/messages/instance-payload.ts';
import { TaskState, VmState } from '../wire/messages/instance-states.ts';
import type { Selection } from '../wire/messages/request-spec.ts';
import { failIfShelvedImageGone, type ShelvedImageLookup } from './shelved-image-check.ts';

const log = getLogger('conductor');

/** Nova's event name for the scheduling step of an unshelve. */
const SCHEDULE_EVENT = 'schedule_instances';

export class ShelveConductor {
  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly scheduler: SchedulerRpcApi,
    private readonly compute: ComputeRpcApi,
    /** The image API as the conductor's service user; without it the shelved image is not looked up. */
    private readonly images?: ShelvedImageLookup,
  ) {}

  private get db() {
    return this.database.db;
  }

  async unshelveInstance(ctx: RequestContext, uuid: string, requestedHost?: string): Promise<void> {
    const instance = await findInstance(this.db, uuid);
    if (!instance || instance.task_state !== TaskState.UNSHELVING) return;
    if (instance.vm_state === VmState.SHELVED) return this.powerOnInPlace(ctx, instance);
    if (instance.vm_state !== VmState.SHELVED_OFFLOADED) {
      log.error({ instance: uuid, vmState: instance.vm_state }, 'unshelve of a server neither shelved nor offloaded');
      await changeInstance(this.db, uuid, { vm_state: VmState.ERROR, task_state: null });
      return;
    }
    if (this.images && (await failIfShelvedImageGone(this.db, ctx, this.images, instance))) return;
    await startEvent(this.db, uuid, ctx.requestId, SCHEDULE_EVENT, null);
    let chosen: Selection | undefined;
    try {
      const spec = await getRequestSpec(this.db, uuid);
      const ignore = requestedHost ? await this.nodesExcept(requestedHost) : [];
      const selections = await this.scheduler.selectDestinations(
        ctx,
        { ...spec, num_instances: 1, ignore_hosts: ignore },
        [uuid],
      );
      chosen = selections[0]?.[0];
      if (!chosen) throw new StratusError('No valid host was found. ');
    } catch (err) {
      // Nova's NoValidHost: the server stays offloaded, with no task; the failure is on its action.
      log.warn({ instance: uuid, err: (err as Error).message }, 'no host for the unshelve');
      await this.giveUp(ctx, uuid, err as Error, { task_state: null }, [TaskState.UNSHELVING]);
      return;
    }
    let claimed: Instance;
    try {
      claimed = await updateInstance(
        this.db,
        uuid,
        { host: chosen.service_host, node: chosen.nodename, availability_zone: chosen.availability_zone },
        { vmState: [VmState.SHELVED_OFFLOADED], taskState: [TaskState.UNSHELVING] },
      );
    } catch (err) {
      if (!(err instanceof InstanceInvalidState || err instanceof NotFound)) throw err;
      log.info({ instance: uuid }, 'server changed while it was scheduled for unshelve; releasing its claim');
      await releaseAllocations(this.db, uuid);
      return;
    }
    await finishEvent(this.db, uuid, ctx.requestId, SCHEDULE_EVENT, 'Success');
    try {
      // The server's ports follow it to its new host (network-allocation.ts).
      const target = { uuid, project_id: claimed.project_id, availability_zone: chosen.availability_zone };
      const { networkInfo } = await allocateForHost(
        this.db,
        target,
        chosen.service_host,
        await remoteGroupsFor(this.compute),
      );
      // Read once the ports are bound here, so that the drive's network_data.json names them.
      const configDrive = await configDriveMetadata(this.db, this.config, uuid, claimed.config_drive);
      await this.compute.unshelveInstance(
        ctx,
        chosen.service_host,
        instancePayload(claimed),
        claimed.shelved_image_id,
        chosen.nodename,
        networkInfo,
        configDrive ?? undefined,
      );
    } catch (err) {
      await releaseAllocations(this.db, uuid);
      await this.giveUp(ctx, uuid, err as Error, { task_state: null, host: null, node: null }, [TaskState.UNSHELVING]);
    }
  }

  /** A SHELVED server's guest is still on its host: it is powered on there (Nova's start_instance). */
  private async powerOnInPlace(ctx: RequestContext, instance: Instance): Promise<void> {
    const uuid = instance.uuid;
    let claimed: Instance;
    try {
      claimed = await updateInstance(
        this.db,
        uuid,
        { task_state: TaskState.POWERING_ON },
        { taskState: [TaskState.UNSHELVING] },
      );
    } catch (err) {
      if (err instanceof InstanceInvalidState || err instanceof NotFound) return;
      throw err;
    }
    try {
      await this.compute.unshelveInstance(ctx, claimed.host!, instancePayload(claimed), claimed.shelved_image_id, null);
    } catch (err) {
      await this.giveUp(ctx, uuid, err as Error, { task_state: null }, [TaskState.POWERING_ON]);
    }
  }

  /** The unshelve stops here: `changes` (the task cleared), a fault and the scheduling event in Error. */
  private async giveUp(
    ctx: RequestContext,
    uuid: string,
    error: Error,
    changes: Parameters<typeof changeInstance>[2],
    expected: string[],
  ): Promise<void> {
    await changeInstance(this.db, uuid, changes, { taskState: expected }).catch(() => undefined);
    await recordFault(this.db, uuid, {
      code: error instanceof StratusError ? error.status : 500,
      message: error.message,
      details: error.stack ?? null,
      host: null,
    }).catch(() => undefined);
    await finishEvent(this.db, uuid, ctx.requestId, SCHEDULE_EVENT, 'Error', {
      message: error.message,
      traceback: error.stack ?? '',
    }).catch(() => undefined);
  }

  /** Every [host, node] but those of `host`: the scheduler's retry list then leaves only that host. */
  private async nodesExcept(host: string): Promise<[string, string][]> {
    const rows = await this.db
      .selectFrom('compute_nodes')
      .select(['host', 'hypervisor_hostname'])
      .where('host', '<>', host)
      .where('deleted_at', 'is', null)
      .execute();
    return rows.map((r) => [r.host, r.hypervisor_hostname]);
  }

  /** Compute uploaded the disk: SHELVED, with the image, time and host; task shelving_offloading if `offload`. */
  async instanceShelved(args: {
    uuid: string;
    image_id: string;
    host: string;
    power_state: number;
    offload: boolean;
  }): Promise<void> {
    await changeInstance(
      this.db,
      args.uuid,
      {
        vm_state: VmState.SHELVED,
        task_state: args.offload ? TaskState.SHELVING_OFFLOADING : null,
        power_state: args.power_state,
        shelved_image_id: args.image_id,
        shelved_at: now(),
        shelved_host: args.host,
      },
      { taskState: [TaskState.SHELVING, TaskState.SHELVING_IMAGE_UPLOADING] },
    );
  }

  /**
   * The guest is gone from its host: SHELVED_OFFLOADED, no task, no host, its allocations freed so
   * placement, the hypervisor views and the scheduler see the room at once, and its ports unbound from
   * the host (Nova's as well): nothing is plugged for them anywhere until an unshelve binds them again.
   */
  async instanceShelveOffloaded(uuid: string, powerState: number, expected: (string | null)[]): Promise<void> {
    await changeInstance(
      this.db,
      uuid,
      { vm_state: VmState.SHELVED_OFFLOADED, task_state: null, power_state: powerState, host: null, node: null },
      { taskState: expected },
    );
    await releaseAllocations(this.db, uuid);
    await unbindFromHost(this.db, uuid);
  }

  /** The guest runs again: ACTIVE, the shelved fields cleared; launched again if it was spawned. */
  async instanceUnshelved(uuid: string, powerState: number, expected: (string | null)[]): Promise<void> {
    await changeInstance(
      this.db,
      uuid,
      {
        vm_state: VmState.ACTIVE,
        task_state: null,
        power_state: powerState,
        shelved_image_id: null,
        shelved_at: null,
        shelved_host: null,
        ...(expected.includes(TaskState.SPAWNING) ? { launched_at: now() } : {}),
      },
      { taskState: expected },
    );
  }

  /** The host's SHELVED servers with no task shelved before `shelvedBefore` (an ISO time). */
  async shelvedInstancesDue(host: string, shelvedBefore: string): Promise<InstancePayload[]> {
    const shelved = await listInstances(this.db, {
      projectId: null,
      exact: { host, vm_state: VmState.SHELVED },
      limit: Number.MAX_SAFE_INTEGER,
    });
    return shelved
      .filter((i) => i.task_state === null && i.shelved_at !== null && i.shelved_at < shelvedBefore)
      .map(instancePayload);
  }
}
