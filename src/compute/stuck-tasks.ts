/**
 * The compute host's watchdog for tasks that never end (Nova's _check_instance_build_time and
 * _poll_rebooting_instances): a build on this host longer than `[DEFAULT] instance_build_timeout` goes to
 * ERROR with a fault and gives back its claim; a reboot longer than `[DEFAULT] reboot_timeout` is done
 * again as a hard reboot; a build whose end was not recorded is recorded or handed back to the conductor
 * (checkLostBuilds); a delete still `deleting` twice `rpc_response_timeout` after this host first saw
 * it (its terminate_instance was taken by a run of this service that died, or the start-up settling of
 * it failed) is done again, as Nova's start-up does for the deletes it finds. Whatever hung (a driver call, a lost message) may still end later: the states
 * each step expects make that late end a no-op that cleans up after itself.
 */
import { adminContext, type RequestContext } from '../common/context.ts';
import { InstanceInvalidState, NotFound } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import type { InstancePayload } from '../wire/messages/instance-payload.ts';
import { BUILD_TIMED_OUT } from '../wire/messages/build-timeout.ts';
import { PowerState, REBOOT_TASKS, TaskState, VmState } from '../wire/messages/instance-states.ts';
import type { HostActionSteps } from './host-action-steps.ts';
import { TaskAges } from './host-duties/task-ages.ts';
import type { RebootType } from './virt/driver.ts';

const log = getLogger('compute');

/** What the watchdog needs of the manager beyond the steps every action module has. */
export interface WatchedHost extends HostActionSteps {
  destroyGuest(uuid: string): Promise<void>;
  rebootInstance(ctx: RequestContext, instance: InstancePayload, type: RebootType): Promise<void>;
  terminateInstance(ctx: RequestContext, instance: InstancePayload): Promise<void>;
  settleAgain(instances: InstancePayload[]): Promise<void>;
  /** The builds a handler of this process is working on. */
  readonly buildsUnderWay: { has(uuid: string): boolean };
}

export class StuckTaskWatchdog {
  private readonly ages: TaskAges;

  constructor(
    private readonly h: WatchedHost,
    now: () => number = Date.now,
  ) {
    this.ages = new TaskAges(now);
  }

  /** Periodic: every check on one read of the host's instances. */
  async check(): Promise<void> {
    const { instance_build_timeout: build, reboot_timeout: reboot, rpc_response_timeout } = this.h.config.DEFAULT;
    const ctx = adminContext();
    const instances = await this.h.conductor.instancesOnHost(ctx, this.h.host);
    await this.h.settleAgain(instances);
    await this.checkLostBuilds(ctx, instances, 2 * rpc_response_timeout);
    if (build > 0) await this.checkBuilds(ctx, instances, build);
    if (reboot > 0) this.checkReboots(ctx, instances, reboot);
    await this.checkDeletes(ctx, instances, 2 * rpc_response_timeout);
  }

  /**
   * A delete that outlived its message: terminated again (destroying a gone guest and marking a deleted
   * instance deleted change nothing), and its count starts again so a failing one is retried once per
   * period of quiet at most.
   */
  private async checkDeletes(ctx: RequestContext, instances: InstancePayload[], quiet: number): Promise<void> {
    const deleting = instances.filter((i) => i.task_state === TaskState.DELETING);
    for (const instance of this.ages.overdue('delete', deleting, quiet)) {
      this.ages.restart('delete', instance.uuid);
      log.warn({ instance: instance.uuid, quiet }, 'delete left unfinished; terminating the instance again');
      await this.h
        .terminateInstance(ctx, instance)
        .catch((err: Error) => log.warn({ instance: instance.uuid, err: err.message }, 'could not finish the delete'));
    }
  }

  /**
   * A build in `spawning` here that no handler of this process works on, twice rpc_response_timeout
   * after this host first saw it so: its handler gave up recording its end (the broker or the database
   * stayed away longer than its retries, build-records.ts). A guest that runs is the build done: ACTIVE.
   * Without one the build never got to spawn: it goes back to `scheduling`, and the conductor casts it
   * to this host again (its interrupted builds), where its claim still is.
   */
  private async checkLostBuilds(ctx: RequestContext, instances: InstancePayload[], quiet: number): Promise<void> {
    const lost = instances.filter(
      (i) =>
        i.vm_state === VmState.BUILDING && i.task_state === TaskState.SPAWNING && !this.h.buildsUnderWay.has(i.uuid),
    );
    for (const instance of this.ages.overdue('lost build', lost, quiet)) {
      this.ages.restart('lost build', instance.uuid);
      await this.finishLostBuild(ctx, instance.uuid).catch((err: Error) =>
        log.warn({ instance: instance.uuid, err: err.message }, 'could not finish the build; will try again'),
      );
    }
  }

  private async finishLostBuild(ctx: RequestContext, uuid: string): Promise<void> {
    if (this.h.driver.powerState(uuid) === PowerState.RUNNING) {
      log.warn({ instance: uuid }, 'build ended without its end recorded; recording it ACTIVE');
      const changes = { vm_state: VmState.ACTIVE, task_state: null, power_state: PowerState.RUNNING };
      await this.h.update(ctx, uuid, { ...changes, launched_at: new Date().toISOString() }, [TaskState.SPAWNING]);
      return;
    }
    log.warn({ instance: uuid }, 'build stopped before its guest ran; handing it back to be cast again');
    await this.h.destroyGuest(uuid);
    await this.h.update(
      ctx,
      uuid,
      { task_state: TaskState.SCHEDULING },
      [TaskState.SPAWNING],
      undefined,
      undefined,
      true,
    );
  }

  private async checkBuilds(ctx: RequestContext, instances: InstancePayload[], timeout: number): Promise<void> {
    const building = instances.filter((i) => i.vm_state === VmState.BUILDING && i.task_state !== TaskState.DELETING);
    for (const instance of this.ages.overdue('build', building, timeout)) {
      await this.timeOutBuild(ctx, instance).catch((err: Error) =>
        log.warn({ instance: instance.uuid, err: err.message }, 'could not time out the build; will try again'),
      );
    }
  }

  /**
   * ERROR first, guarded on BUILD: only a build that really had not ended is failed (one that became
   * ACTIVE meanwhile keeps its guest and claim). Then, as after a failed build, the claim is given back
   * (the conductor's reschedule_build, aborted: it frees the allocations and finds the instance already
   * in ERROR) and whatever guest the build left is removed.
   */
  private async timeOutBuild(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    const { uuid } = instance;
    try {
      await this.h.update(ctx, uuid, { vm_state: VmState.ERROR, task_state: null }, undefined, undefined, [
        VmState.BUILDING,
      ]);
    } catch (err) {
      if (err instanceof InstanceInvalidState || err instanceof NotFound) return;
      throw err;
    }
    log.warn({ instance: uuid, timeout: this.h.config.DEFAULT.instance_build_timeout }, BUILD_TIMED_OUT);
    await this.h.fault(ctx, uuid, BUILD_TIMED_OUT);
    await this.h.event(ctx, uuid, 'compute_build_and_run_instance', 'finish', new Error(BUILD_TIMED_OUT));
    await this.h.conductor.rescheduleBuild(ctx, {
      uuid,
      host: this.h.host,
      node: instance.node ?? this.h.host,
      attempt: 1,
      alternates: [],
      error: { message: BUILD_TIMED_OUT, traceback: '' },
      abort: true,
    });
    await this.h.destroyGuest(uuid);
  }

  /**
   * A reboot past its timeout is done again as a hard reboot (Nova leaves this to drivers; its Xen one
   * did so). Not awaited: a reboot that hangs again must not stall the other checks; its count starts
   * again so it is retried once per timeout at most.
   */
  private checkReboots(ctx: RequestContext, instances: InstancePayload[], timeout: number): void {
    const rebooting = instances.filter((i) => i.task_state !== null && REBOOT_TASKS.includes(i.task_state));
    for (const instance of this.ages.overdue('reboot', rebooting, timeout)) {
      this.ages.restart('reboot', instance.uuid);
      log.warn({ instance: instance.uuid, task: instance.task_state, timeout }, 'reboot timed out; rebooting hard');
      void this.h
        .rebootInstance(ctx, instance, 'HARD')
        .catch((err: Error) => log.warn({ instance: instance.uuid, err: err.message }, 'hard reboot failed'));
    }
  }
}
