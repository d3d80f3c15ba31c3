/**
 * The conductor: orchestrates builds (scheduling, casting to compute, rescheduling on failure) and is the
 * only way compute hosts reach the database. Every handler is idempotent, since a message can arrive
 * twice: state changes are guarded by the states they expect to find.
 */
import type { Config } from '../common/config/load-config.ts';
import { adminContext, type RequestContext } from '../common/context.ts';
import type { Database } from '../common/db/database.ts';
import { InstanceInvalidState, NotFound, StratusError } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import type { Notifier } from '../common/notifications/notifier.ts';
import { emitServiceStatus } from '../common/notifications/service-status.ts';
import { firstFailureInOrder } from '../common/promises.ts';
import type { InstanceChangesPayload, InstancePayload } from '../wire/messages/instance-payload.ts';
import type { ComputeRpcApi, GroupMembers } from '../wire/contracts/compute.ts';
import { groupMembers } from '../network/security-group-port-rules.ts';
import type { DiskSnapshotLink } from '../wire/messages/disk-snapshot-link.ts';
import { syncDiskSnapshots } from '../objects/disk-snapshots.ts';
import { finishEvent, startAction, startEvent } from '../objects/instance-actions.ts';
import { failBuild, recordFault } from '../objects/instance-faults.ts';
import { instancePayload } from '../objects/instance-payload.ts';
import { TaskState, VmState } from '../wire/messages/instance-states.ts';
import { BUILD_TIMED_OUT } from '../wire/messages/build-timeout.ts';
import {
  changeInstance,
  findInstance,
  getInstance,
  listInstances,
  markInstanceDeleted,
  updateInstance,
} from '../objects/instances.ts';
import { getRequestSpec, saveRequestSpec } from '../objects/request-specs.ts';
import { configDriveMetadata } from '../api/metadata/config-drive-metadata.ts';
import { releaseInstancePorts } from './network-allocation.ts';
import { BuildPortBatches } from './build-port-batches.ts';
import { remoteGroupsFor } from '../network/network-info.ts';
import { memberNotices } from '../network/member-notices.ts';
import { orphanedBuilds } from './build-watchdog.ts';
import { claimsOfDeletedInstances, orphanedDeletes } from './delete-watchdog.ts';
import { BuildsInFlight, interruptedBuilds, triageBuilds } from './build-redelivery.ts';
import { retryWhileBusAway } from '../common/rpc/bus-retry.ts';
import { isDatabaseConnectionLost } from '../common/database-errors.ts';
import { ShelveConductor } from './shelve.ts';
import { MoveConductor } from './migrate-server.ts';
import { EvacuateConductor } from './evacuate.ts';
import { LiveMigrationConductor } from './live-migrate.ts';
import type { ShelvedImageLookup } from './shelved-image-check.ts';
import type { NetworkInfo } from '../wire/messages/network-info.ts';
import {
  getService,
  lowestServiceVersion,
  recordHeartbeat,
  registerService,
  type ServiceRecord,
  type ServiceBinary,
} from '../objects/services.ts';
import { claimResources, releaseAllocations, releaseMoveAllocations, resourcesForFlavor } from '../placement/claims.ts';
import { upsertComputeNode, type NodeReport } from '../placement/providers.ts';
import { loadAntiAffinityGuard } from '../scheduler/request-hints.ts';
import type { RequestSpec, Selection } from '../wire/messages/request-spec.ts';
import type { SchedulerRpcApi } from '../wire/contracts/scheduler.ts';
import type { ActionEventWithUpdate, RescheduleRequest } from '../wire/contracts/conductor.ts';

const log = getLogger('conductor');

export class ConductorManager {
  /** shelve, offload and unshelve (shelve.ts). */
  /** The ports of first builds, made a burst at a time (build-port-batches.ts). */
  private readonly buildPorts: BuildPortBatches;
  readonly shelving: ShelveConductor;
  /** resize and cold migration (migrate-server.ts). */
  readonly moves: MoveConductor;
  /** evacuate (evacuate.ts). */
  readonly evacuations: EvacuateConductor;
  /** live migration (live-migrate.ts). */
  readonly liveMigrations: LiveMigrationConductor;
  private readonly buildsInFlight = new BuildsInFlight();

  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly scheduler: SchedulerRpcApi,
    private readonly compute: ComputeRpcApi,
    /** The image API, for unshelve's look at the shelved image (shelved-image-check.ts); tests may leave it out. */
    images?: ShelvedImageLookup,
    /** service.create for a compute host's first registration (a heartbeat from an unknown host). */
    private readonly notifier?: Notifier,
  ) {
    this.buildPorts = new BuildPortBatches(database);
    this.shelving = new ShelveConductor(database, config, scheduler, compute, images);
    this.moves = new MoveConductor(database, config, scheduler, compute);
    this.evacuations = new EvacuateConductor(database, config, scheduler, compute);
    this.liveMigrations = new LiveMigrationConductor(database, scheduler, compute, config.DEFAULT.migrate_max_retries);
  }

  private get db() {
    return this.database.db;
  }

  /**
   * Schedules the instances the API recorded and casts each build to its compute host. A copy of the
   * message delivered again does only what is left to do (build-redelivery.ts).
   */
  async buildInstances(
    ctx: RequestContext,
    requested: readonly string[],
    recordedSpec?: RequestSpec,
    recorded?: readonly InstancePayload[],
  ): Promise<void> {
    const mine = this.buildsInFlight.take(requested);
    try {
      const { unplaced, claimed, placed } = await triageBuilds(this.db, mine);
      for (const uuid of claimed) await releaseAllocations(this.db, uuid);
      if (unplaced.length < requested.length)
        log.info(
          { requested: requested.length, unplaced: unplaced.length, placed: placed.length },
          'build_instances delivered again',
        );
      await Promise.all([
        unplaced.length ? this.scheduleAndBuild(ctx, unplaced, recordedSpec, recorded) : undefined,
        ...placed.map(({ uuid, selection }) =>
          this.castBuild(ctx, uuid, [selection], 1, undefined, { host: selection.service_host }),
        ),
      ]);
    } finally {
      this.buildsInFlight.release(mine);
    }
  }

  private async scheduleAndBuild(
    ctx: RequestContext,
    uuids: readonly string[],
    recordedSpec?: RequestSpec,
    recorded?: readonly InstancePayload[],
  ): Promise<void> {
    const spec = { ...(recordedSpec ?? (await getRequestSpec(this.db, uuids[0]!))), num_instances: uuids.length };
    let sent = 0;
    // The events are recorded while the scheduler decides: neither waits for the other.
    const [started, scheduled] = await Promise.allSettled([
      Promise.all(
        uuids.map((uuid) => startEvent(this.db, uuid, ctx.requestId, 'conductor_schedule_and_build_instances', null)),
      ),
      // Idempotent (a claim replaces the instance's previous one): sent again across a broker restart.
      // What a lost call may have claimed is given back first (see BuildTriage.claimed for why).
      retryWhileBusAway(
        'select_destinations',
        async () => {
          if (sent++ > 0) for (const uuid of uuids) await releaseAllocations(this.db, uuid);
          return this.scheduler.selectDestinations(ctx, spec, uuids);
        },
        // Long enough for one lost request's timeout and a second try.
        3 * this.config.DEFAULT.rpc_response_timeout * 1000,
      ),
    ]);
    if (started.status === 'rejected') throw started.reason;
    if (scheduled.status === 'rejected') {
      const err = scheduled.reason as Error;
      log.warn({ err: err.message }, 'scheduling failed');
      for (const uuid of uuids) await this.setError(ctx, uuid, err, 'conductor_schedule_and_build_instances');
      return;
    }
    const selections = scheduled.value;
    const payloads = new Map(recorded?.map((p) => [p.uuid, p]));
    await Promise.all(uuids.map((uuid, i) => this.castBuild(ctx, uuid, selections[i]!, 1, payloads.get(uuid))));
  }

  /**
   * Points the instance at its claimed host and casts the build there; releases the claim if the user
   * deleted it meanwhile. `recorded` is the instance as the API recorded it: with it, no read-back.
   * `again`: a build cast again to the host it was placed on (a redelivered build_instances), done only
   * if it is still there and not started: one rescheduled since to another host keeps that host's claim.
   */
  private async castBuild(
    ctx: RequestContext,
    uuid: string,
    [chosen, ...alternates]: Selection[],
    attempt: number,
    recorded?: InstancePayload,
    again?: { host: string },
  ): Promise<void> {
    if (!chosen) return;
    const placement = {
      host: chosen.service_host,
      node: chosen.nodename,
      availability_zone: chosen.availability_zone,
      task_state: TaskState.SCHEDULING,
    };
    const expected = again
      ? { vmState: [VmState.BUILDING], taskState: [TaskState.SCHEDULING], host: again.host }
      : { vmState: [VmState.BUILDING], taskState: [TaskState.SCHEDULING, TaskState.SPAWNING, null] };
    let instance: InstancePayload;
    try {
      if (recorded) {
        await changeInstance(this.db, uuid, placement, expected);
        instance = { ...recorded, host: placement.host, node: placement.node, task_state: placement.task_state };
      } else {
        instance = instancePayload(await updateInstance(this.db, uuid, placement, expected));
      }
    } catch (err) {
      if (!(err instanceof InstanceInvalidState || err instanceof NotFound)) throw err;
      if (again && err instanceof InstanceInvalidState) {
        return log.info({ instance: uuid, host: again.host }, 'build moved on since; its earlier cast is not repeated');
      }
      log.info({ instance: uuid }, 'instance deleted while it was scheduled; releasing its claim');
      await releaseAllocations(this.db, uuid);
      return;
    }
    let networkInfo: NetworkInfo;
    try {
      networkInfo = await this.allocateNetwork(instance, chosen.service_host, chosen.availability_zone);
    } catch (err) {
      // The database went away under it: the build stays placed and `scheduling`, and is cast again
      // (its network allocated again) once quiet for twice rpc_response_timeout (resumeInterruptedBuilds).
      if (isDatabaseConnectionLost(err)) throw err;
      // Another host would meet the same network (Nova aborts the build rather than reschedule).
      log.warn({ instance: uuid, err: (err as Error).message }, 'could not allocate the network');
      await this.setError(ctx, uuid, err as Error, 'conductor_schedule_and_build_instances');
      return;
    }
    // Read once the ports are bound, so that the drive's network_data.json names them.
    const configDrive = await configDriveMetadata(this.db, this.config, uuid);
    // The event's end is recorded while the build is on its way: compute does not wait for the record.
    const [recordedEnd, cast] = await Promise.allSettled([
      finishEvent(this.db, uuid, ctx.requestId, 'conductor_schedule_and_build_instances', 'Success'),
      this.compute.buildAndRunInstance(ctx, chosen.service_host, {
        instance,
        node: chosen.nodename,
        alternates,
        attempt,
        network_info: networkInfo,
        ...(configDrive ? { config_drive: configDrive } : {}),
      }),
    ]);
    if (cast.status === 'rejected') {
      const err = cast.reason as Error;
      // The host's queue is gone (service down) or the bus refused: treat it as a failed build there.
      await this.rescheduleBuild(ctx, {
        uuid,
        host: chosen.service_host,
        node: chosen.nodename,
        attempt,
        alternates,
        error: { message: err.message, traceback: err.stack ?? '' },
      });
    }
    if (recordedEnd.status === 'rejected') throw recordedEnd.reason;
  }

  /**
   * A build failed on `host`: free its claim there and try the next alternate that can still be
   * claimed, until `[scheduler] max_attempts` hosts have been tried; then ERROR with a fault.
   */
  async rescheduleBuild(ctx: RequestContext, request: RescheduleRequest): Promise<void> {
    const { uuid } = request;
    await releaseAllocations(this.db, uuid);
    const instance = await findInstance(this.db, uuid);
    if (!instance || instance.task_state === TaskState.DELETING) return;
    const maxAttempts = this.config.scheduler.max_attempts;
    const spec = await getRequestSpec(this.db, uuid);
    spec.ignore_hosts.push([request.host, request.node]);
    await saveRequestSpec(this.db, uuid, spec);
    if (!request.abort && maxAttempts > 1 && request.attempt < maxAttempts) {
      const resources = resourcesForFlavor(spec.flavor);
      const guard = await loadAntiAffinityGuard(this.db, spec);
      for (let i = 0; i < request.alternates.length; i++) {
        const alternate = request.alternates[i]!;
        try {
          await claimResources(this.db, uuid, alternate.compute_node_uuid, resources, spec.storage_tier, guard);
        } catch (err) {
          log.info(
            { instance: uuid, host: alternate.service_host, err: (err as Error).message },
            'alternate cannot be claimed',
          );
          continue;
        }
        log.info(
          { instance: uuid, from: request.host, to: alternate.service_host, attempt: request.attempt + 1 },
          'rescheduling build',
        );
        await this.castBuild(ctx, uuid, [alternate, ...request.alternates.slice(i + 1)], request.attempt + 1);
        return;
      }
    }
    const error =
      maxAttempts > 1 && !request.abort
        ? new StratusError(
            `Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance ${uuid}.`,
          )
        : new StratusError(request.error.message);
    error.remoteTrace = `${request.error.message}\n${request.error.traceback}`;
    await this.setError(ctx, uuid, error, 'compute_build_and_run_instance');
  }

  /**
   * Makes or binds the instance's ports for `host` (network-allocation.ts). A delete that ran while they
   * were made released what existed then; whatever was made after is released here.
   */
  private async allocateNetwork(instance: InstancePayload, host: string, zone: string): Promise<NetworkInfo> {
    const target = { uuid: instance.uuid, project_id: instance.project_id, availability_zone: zone };
    const { networkInfo, joinedGroups } = await this.buildPorts.allocate(
      target,
      host,
      await remoteGroupsFor(this.compute),
    );
    const now = await findInstance(this.db, instance.uuid);
    if (!now || now.deleted_at !== null || now.task_state === TaskState.DELETING) {
      this.membersChanged(await releaseInstancePorts(this.db, instance.uuid));
    } else {
      // Its new ports joined their groups: the hosts of ports whose rules name those groups learn their members.
      this.membersChanged(joinedGroups);
    }
    return networkInfo;
  }

  /** The groups released ports left: their watchers' hosts are told, without holding up the caller. */
  private membersChanged(groups: string[]): void {
    void memberNotices(this.db, this.compute).groupsChanged(adminContext(), groups);
  }

  /**
   * Periodic: builds still `scheduling` long after their last change (twice rpc_response_timeout), whose
   * build_instances died with a conductor or whose cast to compute was lost, are taken up again as a
   * redelivered copy would be: scheduled if never placed, cast again to their host if placed.
   */
  async resumeInterruptedBuilds(ctx: RequestContext, at = Date.now()): Promise<void> {
    const quietMs = 2 * this.config.DEFAULT.rpc_response_timeout * 1000;
    for (const uuid of await interruptedBuilds(this.db, new Date(at - quietMs).toISOString())) {
      log.warn({ instance: uuid }, 'build interrupted (its conductor or its message was lost); resuming it');
      await this.buildInstances(ctx, [uuid]).catch((err: Error) =>
        log.warn({ instance: uuid, err: err.message }, 'could not resume the build; will try again'),
      );
    }
  }

  /**
   * Periodic: deletes still `deleting` twice rpc_response_timeout after their last change, on no host or
   * on a host whose compute service is down (their terminate_instance died with it), are finished here
   * as the API's local delete does: the row marked deleted, claims and ports freed. The host, if it comes
   * back, reaps the guest as a running deleted one. Claims deleted instances still hold are freed too.
   */
  async finishOrphanedDeletes(ctx: RequestContext, at = Date.now()): Promise<void> {
    const { rpc_response_timeout, service_down_time } = this.config.DEFAULT;
    const before = new Date(at - 2 * rpc_response_timeout * 1000).toISOString();
    for (const uuid of await orphanedDeletes(this.db, before, service_down_time, at)) {
      log.warn({ instance: uuid }, 'delete left unfinished on a host that is down; deleting the server locally');
      await this.instanceDeleted(ctx, uuid).catch((err: Error) =>
        log.warn({ instance: uuid, err: err.message }, 'could not finish the delete; will try again'),
      );
    }
    for (const uuid of await claimsOfDeletedInstances(this.db)) {
      log.warn({ instance: uuid }, 'a deleted instance still holds a claim (claimed after its delete); freeing it');
      await releaseAllocations(this.db, uuid);
    }
  }

  /**
   * Periodic (`[DEFAULT] instance_build_timeout`): the builds past the timeout that no compute host will
   * end (never placed, or on a host that is down) go to ERROR with a fault, their claims and ports freed.
   */
  async failOrphanedBuilds(ctx: RequestContext, at = Date.now()): Promise<void> {
    const timeout = this.config.DEFAULT.instance_build_timeout;
    if (timeout <= 0) return;
    for (const uuid of await orphanedBuilds(this.db, timeout, this.config.DEFAULT.service_down_time, at)) {
      log.warn({ instance: uuid, timeout }, BUILD_TIMED_OUT);
      await this.setError(ctx, uuid, new StratusError(BUILD_TIMED_OUT), 'conductor_schedule_and_build_instances');
    }
  }

  /** Puts a build in ERROR with a fault; leaves an instance being deleted alone. */
  private async setError(ctx: RequestContext, uuid: string, error: Error, event: string): Promise<void> {
    const code = error instanceof StratusError ? error.status : 500;
    const failed = await failBuild(this.db, uuid, {
      code: error.name === 'NoValidHost' ? 500 : code,
      message: error.message,
      details: (error as StratusError).remoteTrace ?? error.stack ?? null,
    });
    if (!failed) return;
    await releaseAllocations(this.db, uuid);
    this.membersChanged(await releaseInstancePorts(this.db, uuid));
    await finishEvent(this.db, uuid, ctx.requestId, event, 'Error', {
      message: error.message,
      traceback: error.stack ?? '',
    });
  }

  /** `version`: the sender's service version; a sender of the first release sends none and is version 1. */
  async serviceHeartbeat(host: string, binary: ServiceBinary, topic: string, version = 1): Promise<void> {
    try {
      await recordHeartbeat(this.db, host, binary, version);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      const notifier = this.notifier;
      const created =
        notifier && ((service: ServiceRecord) => emitServiceStatus(notifier, adminContext(), 'create', service));
      await registerService(this.db, host, binary, topic, version, created);
    }
  }

  /** The lowest service version of each binary's registered services (null: none). */
  async serviceVersions(binaries: readonly ServiceBinary[]): Promise<Record<string, number | null>> {
    const versions: Record<string, number | null> = {};
    for (const binary of binaries) versions[binary] = await lowestServiceVersion(this.db, binary);
    return versions;
  }

  async reportNodes(host: string, nodes: NodeReport[]): Promise<void> {
    const service = await getService(this.db, host, 'stratus-compute');
    for (const node of nodes) await upsertComputeNode(this.db, host, service.id, node);
  }

  /**
   * A compute host's state change, guarded by the task states it expects. With `event`, the action event
   * is recorded in the same round trip: a start before the change (so it exists even if the change is
   * refused), a finish only once the change is made.
   */
  async instanceUpdate(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expectedTaskState?: (string | null)[],
    event?: ActionEventWithUpdate,
    expectedVmState?: string[],
    expectedHost?: string,
  ): Promise<void> {
    const change = () =>
      changeInstance(this.db, uuid, changes, {
        ...(expectedTaskState ? { taskState: expectedTaskState } : {}),
        ...(expectedVmState ? { vmState: expectedVmState } : {}),
        ...(expectedHost !== undefined ? { host: expectedHost } : {}),
      });
    if (event?.phase === 'start') {
      // Side by side: the event is recorded whether or not the change is refused, and neither waits.
      await firstFailureInOrder([startEvent(this.db, uuid, ctx.requestId, event.event, event.host), change()]);
      return;
    }
    await change();
    if (event?.phase === 'finish') await finishEvent(this.db, uuid, ctx.requestId, event.event, 'Success');
  }

  /** Compute finished destroying the guest: the instance is gone and its resources are free. */
  async instanceDeleted(ctx: RequestContext, uuid: string): Promise<void> {
    await markInstanceDeleted(this.db, uuid);
    await releaseAllocations(this.db, uuid);
    await releaseMoveAllocations(this.db, uuid);
    this.membersChanged(await releaseInstancePorts(this.db, uuid));
    await this.liveMigrations.instanceDeleted(uuid);
    await finishEvent(this.db, uuid, ctx.requestId, 'compute_terminate_instance', 'Success');
  }

  async instancesOnHost(host: string, uuid?: string): Promise<InstancePayload[]> {
    if (uuid) {
      const instance = await findInstance(this.db, uuid);
      return instance?.host === host ? [instancePayload(instance)] : [];
    }
    const instances = await listInstances(this.db, {
      projectId: null,
      exact: { host },
      limit: Number.MAX_SAFE_INTEGER,
    });
    return instances.map(instancePayload);
  }

  /** The members of security groups, for a compute host that has no set of a group its guest names. */
  securityGroupMembers(groupIds: readonly string[]): Promise<GroupMembers[]> {
    return groupMembers(this.db, groupIds);
  }

  /**
   * What the database says of `uuids` (deleted rows included): the compute host's check for guests that
   * run though their instance is deleted (running_deleted_instance_action), or belongs to another host.
   * A uuid absent from the answer is unknown to the database.
   */
  async instancesByUuid(
    uuids: readonly string[],
  ): Promise<{ uuid: string; host: string | null; deleted_at: string | null }[]> {
    if (!uuids.length) return [];
    return this.db
      .selectFrom('instances')
      .select(['uuid', 'host', 'deleted_at'])
      .where('uuid', 'in', [...uuids])
      .execute();
  }

  /**
   * An action the compute host starts by itself (Nova's power-state sync calls the stop API, which records
   * a 'stop' action): recorded under the caller's request id, so its events attach to it.
   */
  async startInstanceAction(ctx: RequestContext, uuid: string, action: string): Promise<void> {
    await getInstance(this.db, uuid);
    await startAction(this.db, ctx, uuid, action);
  }

  async actionEvent(
    ctx: RequestContext,
    uuid: string,
    event: string,
    phase: 'start' | 'finish',
    host: string,
    error?: { message: string; traceback: string },
  ): Promise<void> {
    if (phase === 'start') await startEvent(this.db, uuid, ctx.requestId, event, host);
    else await finishEvent(this.db, uuid, ctx.requestId, event, error ? 'Error' : 'Success', error);
  }

  /** A compute host reports an instance's disk snapshot chain after working on it (objects/disk-snapshots.ts). */
  async syncDiskSnapshots(uuid: string, chain: readonly DiskSnapshotLink[] | null): Promise<void> {
    await syncDiskSnapshots(this.db, uuid, chain);
  }

  async recordFault(
    uuid: string,
    fault: { code: number; message: string; details: string; host: string },
  ): Promise<void> {
    await getInstance(this.db, uuid, true);
    await recordFault(this.db, uuid, fault);
  }
}
