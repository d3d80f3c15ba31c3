/**
 * The compute manager (one per hypervisor host): runs builds and power actions through the virt driver
 * and reports every state change through the conductor, since compute hosts hold no database
 * credentials. On start it registers, reports its nodes and settles instances a crash left mid-task.
 */
import type { Config } from '../common/config/load-config.ts';
import { adminContext, type RequestContext } from '../common/context.ts';
import { BuildAborted, ConsoleTypeUnavailable, InstanceInvalidState, NotFound } from '../common/errors.ts';
import { adminPasswordRefusal, passwordSetFailed } from './admin-password.ts';
import { reclaimQueuedDeletes } from './queued-deletes.ts';
import { getLogger } from '../common/log/logger.ts';
import type { ConductorRpcApi } from '../wire/contracts/conductor.ts';
import type { GroupMembers } from '../wire/contracts/compute.ts';
import type { DiskSnapshotAction, GuestStateAction } from '../wire/contracts/compute.ts';
import { PowerState, REBOOT_TASKS, REBUILD_TASKS, TaskState, VmState } from '../wire/messages/instance-states.ts';
import type { Selection } from '../wire/messages/request-spec.ts';
import { imageClientFromConfig, type SnapshotImageSink } from './image/image-client.ts';
import type { InstanceChangesPayload, InstancePayload } from '../wire/messages/instance-payload.ts';
import { hostCpuSets } from './cpu-sets.ts';
import { rotateBackups } from './backup-rotation.ts';
import { ShelveFlows } from './shelve.ts';
import { ResizeFlows } from './moves/resize.ts';
import { LiveMigrationFlows } from './moves/live-migration.ts';
import { StuckTaskWatchdog } from './stuck-tasks.ts';
import { uploadDiskImage } from './snapshot-upload.ts';
import { hostUptimeLine } from './host-uptime.ts';
import { nodeReports } from './resource-report.ts';
import { powerSyncDecision } from './host-duties/power-sync.ts';
import { RunningDeletedTracker, type RunningDeletedAction } from './host-duties/running-deleted.ts';
import { settleInterruptedRebuild } from './rebuild.ts';
import { destroyEvacuatedGuests } from './moves/evacuate.ts';
import type { GuestLifecycleEvent, RebootType, VirtDriver, VncConsole } from './virt/driver.ts';
import { settleInterruptedRescue } from './rescue.ts';
import type { HostActionSteps } from './host-action-steps.ts';
import { InstanceQueue } from './instance-queue.ts';
import { askConductor, GuestNetworking } from './guest-networking.ts';
import type { NetworkDriver } from './network/network-driver.ts';
import { VifCache } from './network/vif-cache.ts';
import type { NetworkInfo, Vif } from '../wire/messages/network-info.ts';
import { join } from 'node:path';
import { configDriveContents } from './config-drive.ts';
import { BuildsUnderWay, recordBuildStep } from './build-records.ts';
import type { InstanceMetadata } from '../wire/messages/instance-metadata.ts';

const log = getLogger('compute');

/** What each of them expects, asks of the driver and leaves (Nova's vm_state and power_state after it). */
const GUEST_STATE_ACTIONS: Record<
  GuestStateAction,
  { task: string; event: string; vmState: string; powerState: number }
> = {
  pause: {
    task: TaskState.PAUSING,
    event: 'compute_pause_instance',
    vmState: VmState.PAUSED,
    powerState: PowerState.PAUSED,
  },
  unpause: {
    task: TaskState.UNPAUSING,
    event: 'compute_unpause_instance',
    vmState: VmState.ACTIVE,
    powerState: PowerState.RUNNING,
  },
  suspend: {
    task: TaskState.SUSPENDING,
    event: 'compute_suspend_instance',
    vmState: VmState.SUSPENDED,
    powerState: PowerState.SUSPENDED,
  },
  resume: {
    task: TaskState.RESUMING,
    event: 'compute_resume_instance',
    vmState: VmState.ACTIVE,
    powerState: PowerState.RUNNING,
  },
};

/** Disk snapshots (a Stratus extension): the task the API set for each, and its action event. */
const DISK_SNAPSHOT_ACTIONS: Record<DiskSnapshotAction, { task: string; event: string }> = {
  create: { task: TaskState.DISK_SNAPSHOTTING, event: 'compute_create_disk_snapshot' },
  delete: { task: TaskState.DISK_SNAPSHOT_DELETING, event: 'compute_delete_disk_snapshot' },
  revert: { task: TaskState.DISK_SNAPSHOT_REVERTING, event: 'compute_revert_disk_snapshot' },
};
const DISK_SNAPSHOT_TASKS: readonly string[] = Object.values(DISK_SNAPSHOT_ACTIONS).map((rule) => rule.task);

/**
 * Tasks of a build: one interrupted by a restart cannot be resumed, the instance goes to ERROR (as in Nova);
 * a build still SCHEDULING never started, and is left to its queued request (initInstance).
 */
const BUILD_TASKS: readonly string[] = [
  TaskState.SCHEDULING,
  TaskState.BLOCK_DEVICE_MAPPING,
  TaskState.NETWORKING,
  TaskState.SPAWNING,
];

export class ComputeManager implements HostActionSteps {
  /**
   * Consecutive failed builds per node (Nova's failed_builds stat): reported with the node, reset by a
   * successful build, so the scheduler's BuildFailureWeigher steers new builds away from a broken node.
   */
  private readonly failedBuilds = new Map<string, number>();
  /** The host duty under way per instance, so that a sync, an event and a reap never interleave. */
  private readonly duties = new InstanceQueue();
  /** Instances whose start-up settling failed: settleAgain tries again. */
  private readonly unsettled = new Set<string>();
  private readonly runningDeleted = new RunningDeletedTracker();

  /** shelve, shelve offload and unshelve (shelve.ts). */
  readonly shelving = new ShelveFlows(this);
  /** resize and cold migration steps (moves/resize.ts). */
  readonly moves = new ResizeFlows(this);
  /** live migration steps (moves/live-migration.ts). */
  readonly liveMoves = new LiveMigrationFlows(this);
  /** The host's datapath and its record of each guest's interfaces (guest-networking.ts). */
  readonly networking: GuestNetworking;
  /** instance_build_timeout and reboot_timeout (stuck-tasks.ts). */
  readonly watchdog = new StuckTaskWatchdog(this);
  /** Builds a handler of this process is working on (build-records.ts); the watchdog finishes the others. */
  readonly buildsUnderWay = new BuildsUnderWay();

  constructor(
    readonly host: string,
    // Read by the action modules beside the manager (rebuild.ts, rescue.ts, shelve.ts): HostActionSteps.
    readonly config: Config,
    readonly driver: VirtDriver,
    /** The datapath the guests' ports are plugged into (network/network-driver-factory.ts). */
    network: NetworkDriver,
    readonly conductor: ConductorRpcApi,
    /** Where snapshots are uploaded: the image API, as compute's service user ([glance] options). */
    readonly images: SnapshotImageSink = imageClientFromConfig(config),
  ) {
    // A folder per host: hosts that share a state_path (tests, a fake cloud) never drop each other's records.
    const cache = new VifCache(join(config.compute.vif_cache_directory, host));
    this.networking = new GuestNetworking(network, cache, undefined, askConductor(conductor));
  }

  /** Start-up: register, report the nodes, and settle what a crash left behind (Nova's init_host). */
  async initHost(): Promise<void> {
    await this.driver.init(this.host);
    this.driver.onLifecycleEvent?.((event) => {
      this.handleLifecycleEvent(event).catch((err: Error) =>
        log.warn(
          { instance: event.uuid, reason: event.reason, err: err.message },
          'could not sync after a guest event',
        ),
      );
    });
    // A CPU set naming CPUs this host lacks stops the service here, before it registers.
    for (const node of this.driver.nodes()) hostCpuSets(this.config, node.vcpus);
    const ctx = adminContext();
    await this.reportHeartbeat();
    await this.reportResources();
    // Guests evacuated away while this host was down are not its own any more (Nova's init_host does so first).
    await destroyEvacuatedGuests(this, ctx);
    const instances = await this.conductor.instancesOnHost(ctx, this.host);
    // The datapath first: settling an instance may start its guest, whose qemu opens its taps by name.
    await this.networking.reconcile(instances);
    for (const instance of instances) {
      await this.initInstance(ctx, instance).catch((err: Error) => {
        this.unsettled.add(instance.uuid);
        log.error(
          { instance: instance.uuid, err: err.message },
          'could not settle instance at start-up; will try again',
        );
      });
    }
    log.info({ host: this.host, nodes: this.driver.nodes().length, instances: instances.length }, 'compute host ready');
  }

  /**
   * Periodic (the watchdog): the start-up settling of the instances it failed for (the conductor or the
   * broker away at the time) is tried again on their current state, until it succeeds or they leave
   * this host.
   */
  async settleAgain(instances: InstancePayload[]): Promise<void> {
    const here = new Set(instances.map((i) => i.uuid));
    for (const uuid of this.unsettled) if (!here.has(uuid)) this.unsettled.delete(uuid);
    for (const instance of instances.filter((i) => this.unsettled.has(i.uuid))) {
      try {
        await this.initInstance(adminContext(), instance);
        this.unsettled.delete(instance.uuid);
      } catch (err) {
        log.warn({ instance: instance.uuid, err: (err as Error).message }, 'could not settle instance; will try again');
      }
    }
  }

  async reportHeartbeat(): Promise<void> {
    await this.conductor.serviceHeartbeat(adminContext(), this.host, 'stratus-compute', 'compute');
  }

  async reportResources(): Promise<void> {
    await this.conductor.reportNodes(
      adminContext(),
      this.host,
      nodeReports(
        this.config,
        this.driver.nodes(),
        this.driver.listGuests(),
        this.failedBuilds,
        await hostUptimeLine(),
      ),
    );
  }

  /**
   * Counts a build's outcome on `node` and reports the node when its count changed, so the scheduler
   * sees it at its next refresh rather than at the next periodic report. A zero
   * `[compute] consecutive_build_service_disable_threshold` turns the counting off, as in Nova.
   */
  private async recordBuildOutcome(node: string, succeeded: boolean): Promise<void> {
    if (this.config.compute.consecutive_build_service_disable_threshold === 0) return;
    const before = this.failedBuilds.get(node) ?? 0;
    const after = succeeded ? 0 : before + 1;
    if (after === before) return;
    this.failedBuilds.set(node, after);
    await this.reportResources().catch((err: Error) =>
      log.warn({ node, failedBuilds: after, err: err.message }, 'could not report the failed-build count'),
    );
  }

  /**
   * Start-up settling of one instance (Nova's _init_instance): a task a crash interrupted is finished or
   * undone so that nothing stays transitional, then the guest's state is reconciled (and, with
   * resume_guests_state_on_host_boot, a guest that was running is started again).
   */
  private async initInstance(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    const task = instance.task_state;
    if (task === TaskState.DELETING) return this.terminateInstance(ctx, instance);
    if (instance.vm_state === VmState.BUILDING && task === TaskState.SCHEDULING) {
      // Placed here, but its build never began (it starts by claiming SCHEDULING -> SPAWNING): the
      // conductor's request waits in this host's queue, which outlives the service, and builds it once
      // the service takes requests again. Marked ERROR here, that request would find it taken and drop it.
      log.info({ instance: instance.uuid }, 'build queued for this host has not started: left for its request');
      return;
    }
    if (instance.vm_state === VmState.BUILDING || (task !== null && BUILD_TASKS.includes(task))) {
      const message = 'The compute service restarted while this instance was being built.';
      await this.update(ctx, instance.uuid, { vm_state: VmState.ERROR, task_state: null });
      await this.fault(ctx, instance.uuid, message);
      await this.destroyGuest(instance.uuid);
      // As after any failed build, the claim is given back (an aborted reschedule: no retry elsewhere,
      // and the conductor finds the instance in ERROR already).
      await this.conductor.rescheduleBuild(ctx, {
        uuid: instance.uuid,
        host: this.host,
        node: instance.node ?? this.host,
        attempt: 1,
        alternates: [],
        error: { message, traceback: '' },
        abort: true,
      });
      return;
    }
    if (await settleInterruptedRescue(this, ctx, instance)) return;
    if (task !== null && REBUILD_TASKS.includes(task)) return settleInterruptedRebuild(this, ctx, instance);
    const settled = await this.finishInterruptedTask(ctx, instance);
    if (settled) return;
    const power = this.driver.powerState(instance.uuid);
    const wasRunning = instance.vm_state === VmState.ACTIVE && instance.power_state === PowerState.RUNNING;
    if (wasRunning && power !== PowerState.RUNNING && this.config.DEFAULT.resume_guests_state_on_host_boot) {
      log.info({ instance: instance.uuid }, 'resuming guest after host restart');
      try {
        if (!this.driver.listGuests().some((g) => g.uuid === instance.uuid)) {
          // A new guest gets the interfaces this host recorded (reconcile plugged them already).
          await this.driver.spawn(
            instance,
            instance.node ?? this.host,
            await this.networking.interfacesOf(instance.uuid),
          );
        } else await this.driver.powerOn(instance.uuid);
      } catch (err) {
        // Nova's resume_state_on_host_boot failure: the instance goes to ERROR, with why.
        await this.update(ctx, instance.uuid, { vm_state: VmState.ERROR, task_state: null, power_state: power });
        await this.fault(
          ctx,
          instance.uuid,
          `Failed to resume the guest after the host restarted: ${(err as Error).message}`,
        );
        return;
      }
      await this.update(ctx, instance.uuid, { power_state: PowerState.RUNNING, task_state: null });
      return;
    }
    await this.applyPowerSync({ ...instance, task_state: null }, 'found at start-up');
  }

  /**
   * A task the previous run of this service did not finish: stop and start are done again (Nova retries
   * them), a reboot ends with the guest running, a pause/unpause/suspend/resume the guest shows done is
   * recorded; any other task is cleared and the state left to the power-state rules, a disk snapshot task
   * once the chain is reported (its records end as far as the operation got). Returns true when the
   * instance has reached its final state.
   */
  private async finishInterruptedTask(ctx: RequestContext, instance: InstancePayload): Promise<boolean> {
    const task = instance.task_state;
    if (task === null) return false;
    log.info({ instance: instance.uuid, task }, 'finishing a task interrupted by the restart');
    // The same handlers as the casts, so a failure ends the same way: task cleared, fault recorded.
    if (task === TaskState.POWERING_OFF) return this.stopInstance(ctx, instance).then(() => true);
    // A shelved server's offload or in-place unshelve is done again (the shelved image of the latter is
    // not named by the payload: it is left in the image service).
    if (task === TaskState.SHELVING_OFFLOADING) return this.shelving.shelveOffload(ctx, instance).then(() => true);
    if (task === TaskState.POWERING_ON && instance.vm_state === VmState.SHELVED) {
      return this.shelving.unshelve(ctx, instance, null, null).then(() => true);
    }
    if (task === TaskState.POWERING_ON) return this.startInstance(ctx, instance).then(() => true);
    if (task === TaskState.SOFT_DELETING) return this.softDeleteInstance(ctx, instance).then(() => true);
    if (task === TaskState.RESTORING) return this.restoreInstance(ctx, instance).then(() => true);
    // A reboot, pause, unpause, suspend or resume the guest shows done got that far before the restart
    // (Nova too clears a started reboot of a running guest): record its outcome.
    const done = REBOOT_TASKS.includes(task)
      ? { vmState: VmState.ACTIVE, powerState: PowerState.RUNNING }
      : Object.values(GUEST_STATE_ACTIONS).find((rule) => rule.task === task);
    if (done && this.driver.powerState(instance.uuid) === done.powerState) {
      const changes = { vm_state: done.vmState, power_state: done.powerState, task_state: null };
      await this.update(ctx, instance.uuid, changes, [task]);
      return true;
    }
    if (REBOOT_TASKS.includes(task)) return this.rebootInstance(ctx, instance, 'HARD').then(() => true);
    // An unshelve claimed here but not started: the claim is given back, the server stays offloaded.
    if (instance.vm_state === VmState.SHELVED_OFFLOADED && task === TaskState.UNSHELVING) {
      await this.shelving.removeOffloadedGuest(instance.uuid);
      await this.conductor.instanceShelveOffloaded(ctx, instance.uuid, PowerState.NOSTATE, [task]);
      return true;
    }
    // The chain says how far a disk snapshot operation got; its records end accordingly.
    if (DISK_SNAPSHOT_TASKS.includes(task)) await this.reportDiskSnapshots(ctx, instance.uuid);
    await this.update(ctx, instance.uuid, { task_state: null }, [task]);
    return false;
  }

  async buildAndRunInstance(
    ctx: RequestContext,
    instance: InstancePayload,
    node: string,
    alternates: Selection[],
    attempt: number,
    /** The guest's interfaces, its ports bound to this host by the conductor (none: a guest without NICs). */
    networkInfo: NetworkInfo = [],
    /** What the guest's config drive holds; none without it. */
    configDrive?: InstanceMetadata,
  ): Promise<void> {
    // Member changes that arrive from here on postdate `networkInfo`'s rules: the plug applies them.
    const membersSince = this.networking.memberMark();
    // A copy of the cast delivered again while this process builds it (a broker restart) is dropped.
    if (!this.buildsUnderWay.take(instance.uuid)) {
      return log.info({ instance: instance.uuid }, 'build already under way here; dropped a copy of its request');
    }
    try {
      await this.buildAndRun(ctx, instance, node, alternates, attempt, networkInfo, membersSince, configDrive);
    } finally {
      this.buildsUnderWay.release(instance.uuid);
    }
  }

  private async buildAndRun(
    ctx: RequestContext,
    instance: InstancePayload,
    node: string,
    alternates: Selection[],
    attempt: number,
    networkInfo: NetworkInfo,
    membersSince: number,
    configDrive?: InstanceMetadata,
  ): Promise<void> {
    const event = 'compute_build_and_run_instance';
    // Started only on the host it is placed on: a late copy of a cast to a host the build has since been
    // rescheduled from is refused here. A start whose reply was lost is ours if no other handler has it.
    const started = (now: InstancePayload) => now.task_state === TaskState.SPAWNING && now.host === this.host;
    try {
      await recordBuildStep(
        this,
        ctx,
        instance.uuid,
        { task_state: TaskState.SPAWNING },
        [TaskState.SCHEDULING],
        {
          event,
          phase: 'start',
        },
        started,
      );
    } catch (err) {
      if (isGone(err)) return log.info({ instance: instance.uuid }, 'instance deleted before its build started');
      throw err;
    }
    try {
      // Plugged first: qemu opens the guest's taps by name when it starts.
      await this.networking.plugGuest(instance, networkInfo, membersSince);
      await this.driver.spawn(instance, node, networkInfo, configDriveContents(configDrive));
    } catch (err) {
      const error = err as Error;
      log.warn(
        { instance: instance.uuid, node, err: error.message },
        'build failed; asking the conductor to reschedule',
      );
      await this.destroyGuest(instance.uuid).catch((e: Error) =>
        log.warn({ instance: instance.uuid, err: e.message }, 'could not clean up after the failed build'),
      );
      await this.event(ctx, instance.uuid, event, 'finish', error);
      await this.recordBuildOutcome(node, false);
      await this.conductor.rescheduleBuild(ctx, {
        uuid: instance.uuid,
        host: this.host,
        node,
        attempt,
        alternates,
        error: { message: error.message, traceback: error.stack ?? '' },
        // Another host would fail the same way (Nova's BuildAbortException): no reschedule.
        ...(err instanceof BuildAborted ? { abort: true } : {}),
      });
      return;
    }
    try {
      await recordBuildStep(
        this,
        ctx,
        instance.uuid,
        {
          vm_state: VmState.ACTIVE,
          task_state: null,
          power_state: PowerState.RUNNING,
          launched_at: new Date().toISOString(),
        },
        [TaskState.SPAWNING],
        { event, phase: 'finish' },
        (now) => now.vm_state === VmState.ACTIVE,
      );
    } catch (err) {
      if (!isGone(err)) throw err;
      log.info(
        { instance: instance.uuid },
        'instance deleted (or placed elsewhere) while it spawned; removing the guest',
      );
      await this.destroyGuest(instance.uuid);
    }
    await this.recordBuildOutcome(node, true);
  }

  async terminateInstance(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    await this.event(ctx, instance.uuid, 'compute_terminate_instance', 'start');
    await this.liveMoves.cancelForDelete(instance.uuid);
    await this.destroyGuest(instance.uuid);
    await this.conductor.instanceDeleted(ctx, instance.uuid);
  }

  /**
   * Destroys the guest, then unplugs its ports and forgets them: the datapath outlives the guest by as
   * little as possible, and never the other way round (a running qemu with its taps gone is cut off).
   */
  async destroyGuest(uuid: string): Promise<void> {
    await this.driver.destroy(uuid);
    await this.networking.unplugGuest(uuid, true);
  }

  /**
   * attach_interface (a call from the API through the conductor, which bound the port to this host):
   * the port is plugged, the guest gets its NIC (hot-plugged if it runs) and the host records it. A
   * refusal of the driver is recorded on the action and raised back to the API.
   */
  async attachInterface(ctx: RequestContext, instance: InstancePayload, vif: Vif): Promise<void> {
    await this.interfaceAction(ctx, instance.uuid, 'compute_attach_interface', vif, () =>
      this.networking.attach(this.driver, instance, vif),
    );
  }

  /** detach_interface: the guest releases the NIC, then the port is unplugged and forgotten here. */
  async detachInterface(ctx: RequestContext, instance: InstancePayload, vif: Vif): Promise<void> {
    await this.interfaceAction(ctx, instance.uuid, 'compute_detach_interface', vif, () =>
      this.networking.detach(this.driver, instance, vif),
    );
  }

  /**
   * network_info_changed (a cast from the network service): the guest's ports changed (security group
   * rules, floating or fixed IPs); the datapath applies them as they now are. No instance action: the
   * user acted on a port or a group, not on the server.
   */
  async networkInfoChanged(_ctx: RequestContext, instance: InstancePayload, networkInfo: NetworkInfo): Promise<void> {
    if (!this.driver.listGuests().some((guest) => guest.uuid === instance.uuid)) {
      return log.info({ instance: instance.uuid }, 'interfaces changed for a guest this host does not run');
    }
    await this.networking.changed(instance, networkInfo);
  }

  /**
   * security_group_members_changed (a cast from the network service): the host's sets of the groups'
   * members (which rules of guests here naming them as remote group admit) become these.
   */
  async securityGroupMembersChanged(ctx: RequestContext, groups: GroupMembers[]): Promise<void> {
    const changed = await this.networking.membersChanged(groups);
    if (changed.length > 0)
      log.info({ groups: groups.map((g) => g.id), guests: changed.length }, 'group members applied');
  }

  /** An interface action with Nova's instance action events; the task and states are left as they are. */
  private async interfaceAction(
    ctx: RequestContext,
    uuid: string,
    event: string,
    vif: Vif,
    work: () => Promise<void>,
  ): Promise<void> {
    await this.event(ctx, uuid, event, 'start');
    try {
      await work();
    } catch (err) {
      log.warn({ instance: uuid, port: vif.id, event, err: (err as Error).message }, 'interface action failed');
      await this.event(ctx, uuid, event, 'finish', err as Error);
      throw err;
    }
    await this.event(ctx, uuid, event, 'finish');
    log.info({ instance: uuid, port: vif.id, event }, 'interface action done');
  }

  async stopInstance(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    await this.powerAction(ctx, instance, 'compute_stop_instance', [TaskState.POWERING_OFF], async () => {
      await this.driver.powerOff(instance.uuid, this.config.DEFAULT.shutdown_timeout);
      return { vm_state: VmState.STOPPED, power_state: PowerState.SHUTDOWN };
    });
  }

  async startInstance(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    await this.powerAction(ctx, instance, 'compute_start_instance', [TaskState.POWERING_ON], async () => {
      await this.driver.powerOn(instance.uuid);
      return { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING };
    });
  }

  async rebootInstance(ctx: RequestContext, instance: InstancePayload, type: RebootType): Promise<void> {
    await this.powerAction(ctx, instance, 'compute_reboot_instance', REBOOT_TASKS, async () => {
      await this.driver.reboot(instance.uuid, type);
      return { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING };
    });
  }

  /** Deferred delete: the guest is powered off at once (Nova's fallback, clean_shutdown=False), SOFT_DELETED. */
  async softDeleteInstance(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    await this.powerAction(ctx, instance, 'compute_soft_delete_instance', [TaskState.SOFT_DELETING], async () => {
      await this.driver.powerOff(instance.uuid, 0);
      return { vm_state: VmState.SOFT_DELETED, power_state: this.driver.powerState(instance.uuid) };
    });
  }

  async restoreInstance(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    await this.powerAction(ctx, instance, 'compute_restore_instance', [TaskState.RESTORING], async () => {
      await this.driver.powerOn(instance.uuid);
      return { vm_state: VmState.ACTIVE, power_state: this.driver.powerState(instance.uuid) };
    });
  }

  /**
   * changePassword, a call: the API's answer waits for it. A refusal clears the task, records the fault
   * and the event in Error, and is raised back to the API (Nova: 409); the password is stored nowhere.
   */
  async setAdminPassword(ctx: RequestContext, instance: InstancePayload, password: string): Promise<void> {
    const { uuid } = instance;
    const event = 'compute_set_admin_password';
    await this.event(ctx, uuid, event, 'start');
    try {
      if (this.driver.powerState(uuid) !== PowerState.RUNNING) {
        throw passwordSetFailed(uuid, `instance ${uuid} is not running`);
      }
      await this.driver.setAdminPassword(uuid, password);
    } catch (err) {
      const refusal = adminPasswordRefusal(uuid, err);
      log.warn({ instance: uuid, err: (err as Error).message }, 'could not set the admin password');
      await this.failAction(ctx, uuid, event, refusal, [TaskState.UPDATING_PASSWORD]);
      throw refusal;
    }
    await this.finishAction(ctx, uuid, {}, [TaskState.UPDATING_PASSWORD], event, { event });
  }

  async guestStateAction(ctx: RequestContext, action: GuestStateAction, instance: InstancePayload): Promise<void> {
    const rule = GUEST_STATE_ACTIONS[action];
    await this.powerAction(ctx, instance, rule.event, [rule.task], async () => {
      await this.driver[action](instance.uuid);
      return { vm_state: rule.vmState, power_state: rule.powerState };
    });
  }

  /**
   * Runs one power action: the API already set the task_state; on success the new states are recorded,
   * on failure the task is cleared, a fault recorded and the power state re-read, so nothing stays stuck.
   */
  private async powerAction(
    ctx: RequestContext,
    instance: InstancePayload,
    event: string,
    expectedTasks: readonly string[],
    action: () => Promise<InstanceChangesPayload>,
  ): Promise<void> {
    await this.event(ctx, instance.uuid, event, 'start');
    let changes: InstanceChangesPayload;
    try {
      changes = await action();
    } catch (err) {
      const error = err as Error;
      log.warn({ instance: instance.uuid, event, err: error.message }, 'power action failed');
      await this.failAction(ctx, instance.uuid, event, error, expectedTasks, {
        power_state: this.driver.powerState(instance.uuid),
      });
      return;
    }
    await this.finishAction(ctx, instance.uuid, changes, expectedTasks, event, { event });
  }

  /**
   * The end of an action that succeeded: its changes with the task cleared, and its event finished. An
   * instance deleted or changed meanwhile is left to whatever changed it, which has recorded its own end.
   */
  async finishAction(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expectedTasks: readonly (string | null)[],
    event: string,
    logged: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.update(ctx, uuid, { ...changes, task_state: null }, expectedTasks, { event, phase: 'finish' });
    } catch (err) {
      if (!isGone(err)) throw err;
      log.info({ instance: uuid, ...logged }, 'instance changed under the action (deleted?); leaving it');
    }
  }

  /**
   * createImage (Nova's snapshot_instance): the API created the queued image and set image_snapshot;
   * uploadServerImage does the rest.
   */
  async snapshotInstance(ctx: RequestContext, instance: InstancePayload, imageId: string): Promise<void> {
    await this.uploadServerImage(ctx, instance, imageId, TaskState.IMAGE_SNAPSHOT, 'compute_snapshot_instance');
  }

  /**
   * createBackup (Nova's backup_instance): as createImage from task image_backup, then the server's
   * backups of that type beyond `rotation` are deleted (backup-rotation.ts).
   */
  async backupInstance(
    ctx: RequestContext,
    instance: InstancePayload,
    imageId: string,
    backupType: string,
    rotation: number,
  ): Promise<void> {
    const event = 'compute_backup_instance';
    if (!(await this.uploadServerImage(ctx, instance, imageId, TaskState.IMAGE_BACKUP, event))) return;
    await rotateBackups(this.images, instance.uuid, backupType, rotation).catch((err: Error) =>
      log.warn({ instance: instance.uuid, err: err.message }, 'could not rotate the backups'),
    );
  }

  /**
   * The upload of createImage and createBackup: from the API's task, image_pending_upload while the
   * driver captures the disk, image_uploading while the data streams to the image API, then no task; the
   * vm_state never changes. On failure the image is deleted (Nova's delete_image_on_error), the task
   * cleared and the error recorded on the action. True if the image was uploaded.
   */
  private async uploadServerImage(
    ctx: RequestContext,
    instance: InstancePayload,
    imageId: string,
    startTask: string,
    event: string,
  ): Promise<boolean> {
    await this.event(ctx, instance.uuid, event, 'start');
    let task = startTask;
    try {
      await uploadDiskImage(this.driver, this.images, instance.uuid, imageId, async (phase) => {
        const next = phase === 'pending' ? TaskState.IMAGE_PENDING_UPLOAD : TaskState.IMAGE_UPLOADING;
        await this.update(ctx, instance.uuid, { task_state: next }, [task]);
        task = next;
      });
    } catch (err) {
      await this.failAction(ctx, instance.uuid, event, err as Error, [task]);
      return false;
    }
    // Deleted meanwhile or not, the image is uploaded and kept.
    await this.finishAction(ctx, instance.uuid, {}, [task], event, { image: imageId });
    log.info({ instance: instance.uuid, image: imageId }, 'server image uploaded');
    return true;
  }

  /**
   * Disk snapshots (a Stratus extension): the API recorded the snapshot (creating, or deleting) and set
   * the task; the driver takes the link, merges it into its child, or reverts the disk to it. Success or
   * not, the chain as the driver then sees it is reported, which settles the snapshot records (available,
   * error, error_deleting, deleted: objects/disk-snapshots.ts); then the task is cleared, with a fault and
   * the event in Error on failure. A revert records the guest's power state (running again, or still off).
   */
  async diskSnapshotAction(
    ctx: RequestContext,
    action: DiskSnapshotAction,
    instance: InstancePayload,
    snapshotId: string,
  ): Promise<void> {
    const { task, event } = DISK_SNAPSHOT_ACTIONS[action];
    const uuid = instance.uuid;
    await this.event(ctx, uuid, event, 'start');
    let failure: Error | null = null;
    try {
      if (action === 'create') await this.driver.createDiskSnapshot(uuid, snapshotId);
      else if (action === 'delete') await this.driver.deleteDiskSnapshot(uuid, snapshotId);
      else await this.driver.revertDiskSnapshot(uuid, snapshotId);
    } catch (err) {
      failure = err as Error;
      log.warn({ instance: uuid, snapshot: snapshotId, action, err: failure.message }, 'disk snapshot action failed');
    }
    await this.reportDiskSnapshots(ctx, uuid);
    const changes = action === 'revert' ? { power_state: this.driver.powerState(uuid) } : {};
    if (failure) return this.failAction(ctx, uuid, event, failure, [task], changes);
    await this.finishAction(ctx, uuid, changes, [task], event, { snapshot: snapshotId, action });
    log.info({ instance: uuid, snapshot: snapshotId, action }, 'disk snapshot action done');
  }

  /** Reports the guest's disk snapshot chain to the conductor (null if the driver cannot tell). */
  async reportDiskSnapshots(ctx: RequestContext, uuid: string): Promise<void> {
    const chain = await this.driver.diskSnapshots(uuid).catch((err: Error) => {
      log.warn({ instance: uuid, err: err.message }, 'could not read the disk snapshot chain');
      return null;
    });
    await this.conductor
      .syncDiskSnapshots(ctx, uuid, chain)
      .catch((err: Error) =>
        log.error({ instance: uuid, err: err.message }, 'could not report the disk snapshot chain'),
      );
  }

  /** The guest's serial console output, its last `length` lines when given (os-getConsoleOutput). */
  async getConsoleOutput(uuid: string, length: number | null): Promise<string> {
    const output = await this.driver.getConsoleOutput(uuid);
    if (length === null) return output;
    const lines = output.split('\n');
    // A trailing newline ends the last line; it does not start another one.
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(Math.max(0, lines.length - length)).join('\n');
  }

  /** Where the console proxy reaches the guest's VNC server; ConsoleTypeUnavailable when VNC is off here. */
  async getVncConsole(uuid: string): Promise<VncConsole> {
    if (!this.config.vnc.enabled) throw new ConsoleTypeUnavailable('Unavailable console type vnc.');
    return this.driver.getVncConsole(uuid);
  }

  /** Periodic: the driver's image cache housekeeping. */
  async manageImageCache(): Promise<void> {
    await this.driver.manageImageCache();
  }

  /** Periodic: brings the database in line with what the hypervisor says (Nova's _sync_power_states). */
  async syncPowerStates(): Promise<void> {
    const instances = await this.conductor.instancesOnHost(adminContext(), this.host);
    const known = this.driver.listGuests().length;
    if (known !== instances.length) {
      log.info(
        { database: instances.length, hypervisor: known },
        'the database and the hypervisor count different guests',
      );
    }
    for (const instance of instances) {
      await this.applyPowerSync(instance, 'periodic sync').catch((err: Error) =>
        log.warn({ instance: instance.uuid, err: err.message }, 'could not sync the power state'),
      );
    }
  }

  /**
   * A lifecycle event of the driver (a guest powered off, crashed or its qemu exited): that one
   * instance is synced at once rather than at the next period (Nova's handle_lifecycle_event).
   */
  async handleLifecycleEvent(event: GuestLifecycleEvent): Promise<void> {
    const [instance] = await this.conductor.instancesOnHost(adminContext(), this.host, event.uuid);
    if (!instance)
      return log.info({ instance: event.uuid, reason: event.reason }, 'event of a guest with no live instance here');
    await this.applyPowerSync(instance, `guest event: ${event.reason}`);
  }

  /**
   * One instance through the power-state rules (host-duties/power-sync.ts). The guest's state is read
   * after the instance, so a task that finished in between is seen finished on both sides; every change
   * is guarded by the states read, so a user action racing with the sync wins.
   */
  private applyPowerSync(instance: InstancePayload, why: string): Promise<void> {
    return this.serialized(instance.uuid, async () => {
      // One guest, not a listing of all: the periodic sync asks this of every instance of the host.
      const power = this.driver.powerState(instance.uuid);
      const decision = powerSyncDecision(instance, power);
      if (decision.kind === 'none') return;
      const uuid = instance.uuid;
      log.info(
        {
          instance: uuid,
          vmState: instance.vm_state,
          from: instance.power_state,
          to: power,
          why,
          decision: decision.kind,
        },
        'power state differs from the database',
      );
      try {
        if (decision.kind === 'record') {
          const changes = { power_state: decision.powerState };
          await this.update(adminContext(), uuid, changes, [null], undefined, [instance.vm_state]);
        } else {
          await this.stopOnBehalf(instance, decision.powerState, decision.crashed, decision.powerOff);
        }
      } catch (err) {
        if (!isGone(err)) throw err;
        log.info({ instance: uuid }, 'instance changed while it was synced; leaving it to that change');
      }
    });
  }

  /**
   * Stops an instance the user did not ask to stop, as Nova's sync does through its stop API: a 'stop'
   * action with its event, task_state powering-off while the guest is turned off if it still runs, then
   * SHUTOFF. A crash adds a fault naming it and keeps power_state crashed.
   */
  private async stopOnBehalf(
    instance: InstancePayload,
    power: number,
    crashed: boolean,
    powerOff: boolean,
  ): Promise<void> {
    const ctx = adminContext();
    const uuid = instance.uuid;
    // Nova's sync calls its stop API, which records a 'stop' action (objects/instance-actions.ts).
    await this.conductor.startInstanceAction(ctx, uuid, 'stop');
    await this.update(ctx, uuid, { task_state: TaskState.POWERING_OFF, power_state: power }, [null], undefined, [
      instance.vm_state,
    ]);
    if (crashed) {
      log.warn({ instance: uuid }, 'guest crashed; recording it and stopping the instance');
      await this.fault(
        ctx,
        uuid,
        'The guest crashed (its qemu exited or reported an internal error or a guest panic); the instance was stopped.',
      );
    } else {
      const what = powerOff
        ? 'guest runs though the instance is stopped; powering it off'
        : 'guest shut down by itself';
      log.warn({ instance: uuid, power }, what);
    }
    await this.powerAction(ctx, instance, 'compute_stop_instance', [TaskState.POWERING_OFF], async () => {
      if (!powerOff) return { vm_state: VmState.STOPPED, power_state: power };
      await this.driver.powerOff(uuid, this.config.DEFAULT.shutdown_timeout);
      return { vm_state: VmState.STOPPED, power_state: PowerState.SHUTDOWN };
    });
  }

  /**
   * Periodic: guests on this host whose instance the database says is deleted, or does not know, get
   * `running_deleted_instance_action` once `running_deleted_instance_timeout` has passed (Nova's
   * _cleanup_running_deleted_instances): logged, powered off, or reaped (destroyed with their disks).
   */
  async cleanupRunningDeletedInstances(now = Date.now()): Promise<void> {
    const action = this.config.DEFAULT.running_deleted_instance_action as RunningDeletedAction;
    if (action === 'noop') return;
    const ctx = adminContext();
    const guests = this.driver.listGuests();
    const live = new Set((await this.conductor.instancesOnHost(ctx, this.host)).map((i) => i.uuid));
    const candidates = guests.filter((g) => !live.has(g.uuid)).map((g) => g.uuid);
    const deleted = new Map<string, string>();
    for (const row of await this.conductor.instancesByUuid(ctx, candidates)) {
      if (row.deleted_at) deleted.set(row.uuid, row.deleted_at);
      else {
        // A live instance of another host (moved, or a build rescheduled away): not this host's to touch.
        log.warn({ instance: row.uuid, host: row.host }, 'guest on this host belongs to an instance of another host');
        live.add(row.uuid);
      }
    }
    const timeout = this.config.DEFAULT.running_deleted_instance_timeout;
    for (const orphan of this.runningDeleted.due(guests, live, deleted, timeout, now)) {
      const what = orphan.deletedAt ? `instance deleted at ${orphan.deletedAt}` : 'instance unknown to the database';
      await this.serialized(orphan.uuid, async () => {
        if (action === 'log') {
          log.warn({ instance: orphan.uuid, running: orphan.running }, `guest on this host whose ${what}`);
        } else if (action === 'shutdown' && orphan.running) {
          log.warn({ instance: orphan.uuid }, `powering off guest whose ${what}`);
          await this.driver.powerOff(orphan.uuid, this.config.DEFAULT.shutdown_timeout);
        } else if (action === 'reap') {
          log.warn({ instance: orphan.uuid }, `reaping guest whose ${what}`);
          await this.destroyGuest(orphan.uuid);
        }
      }).catch((err: Error) =>
        log.error(
          { instance: orphan.uuid, action, err: err.message },
          'could not handle a guest whose instance is deleted',
        ),
      );
    }
  }

  /** Periodic: soft-deleted instances past `reclaim_instance_interval` deleted for good (queued-deletes.ts). */
  reclaimQueuedDeletes(now = Date.now()): Promise<void> {
    const { host, conductor } = this;
    const intervalSec = this.config.DEFAULT.reclaim_instance_interval;
    const serialized = (uuid: string, work: () => Promise<void>) => this.serialized(uuid, work);
    const destroyGuest = (uuid: string) => this.destroyGuest(uuid);
    return reclaimQueuedDeletes({ host, intervalSec, destroyGuest, conductor, serialized }, now);
  }

  /** Runs `work` after any other host duty on the same instance (a sync and an event must not interleave). */
  private serialized(uuid: string, work: () => Promise<void>): Promise<void> {
    return this.duties.run(uuid, work);
  }

  async fault(ctx: RequestContext, uuid: string, message: string, details = ''): Promise<void> {
    await this.conductor.recordFault(ctx, { uuid, code: 500, message, details, host: this.host });
  }

  /**
   * Nova's wrap_instance_fault for an action that failed: its task cleared (with `changes`, if the
   * action knows better states), the fault recorded and the action's event finished in Error. The fault
   * is refused if the server was deleted meanwhile, which is fine.
   */
  async failAction(
    ctx: RequestContext,
    uuid: string,
    event: string,
    error: Error,
    expectedTasks: readonly string[],
    changes: InstanceChangesPayload = {},
  ): Promise<void> {
    await this.update(ctx, uuid, { ...changes, task_state: null }, expectedTasks).catch(() => undefined);
    await this.fault(ctx, uuid, error.message, error.stack ?? '').catch(() => undefined);
    await this.event(ctx, uuid, event, 'finish', error);
  }

  update(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expected?: readonly (string | null)[],
    event?: { event: string; phase: 'start' | 'finish' },
    expectedVmState?: readonly string[],
    onThisHost = false,
  ): Promise<void> {
    return this.conductor.instanceUpdate(
      ctx,
      uuid,
      changes,
      expected,
      event && { ...event, host: this.host },
      expectedVmState,
      onThisHost ? this.host : undefined,
    );
  }

  async event(
    ctx: RequestContext,
    uuid: string,
    event: string,
    phase: 'start' | 'finish',
    error?: Error,
  ): Promise<void> {
    await this.conductor
      .actionEvent(ctx, {
        uuid,
        event,
        phase,
        host: this.host,
        ...(error ? { error: { message: error.message, traceback: error.stack ?? '' } } : {}),
      })
      .catch((err: Error) =>
        log.warn({ instance: uuid, event, err: err.message }, 'could not record the action event'),
      );
  }

  async shutdown(): Promise<void> {
    await this.driver.shutdown();
  }
}

function isGone(err: unknown): boolean {
  return err instanceof InstanceInvalidState || err instanceof NotFound;
}
