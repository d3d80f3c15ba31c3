/**
 * The compute manager (one per hypervisor host): runs builds and power actions through the virt driver
 * and reports every state change through the conductor, since compute hosts hold no database
 * credentials. On start it registers, reports its nodes and settles instances a crash left mid-task.
 */
import type { Config } from '../common/config/load-config.ts';
import { adminContext, type RequestContext } from '../common/context.ts';
import { InstanceInvalidState, NotFound } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import type { ConductorRpcApi } from '../conductor/rpc.ts';
import { PowerState, TaskState, VmState } from '../objects/instance-states.ts';
import type { Selection } from '../scheduler/request-spec.ts';
import type { InstanceChangesPayload, InstancePayload } from './instance-payload.ts';
import { nodeReports } from './resource-report.ts';
import type { RebootType, VirtDriver } from './virt/driver.ts';

const log = getLogger('compute');

const REBOOT_TASKS = [
  TaskState.REBOOTING,
  TaskState.REBOOT_PENDING,
  TaskState.REBOOT_STARTED,
  TaskState.REBOOTING_HARD,
  TaskState.REBOOT_PENDING_HARD,
  TaskState.REBOOT_STARTED_HARD,
];

export class ComputeManager {
  constructor(
    readonly host: string,
    private readonly config: Config,
    private readonly driver: VirtDriver,
    private readonly conductor: ConductorRpcApi,
  ) {}

  /** Start-up: register, report the nodes, and settle what a crash left behind (Nova's init_host). */
  async initHost(): Promise<void> {
    await this.driver.init(this.host);
    const ctx = adminContext();
    await this.reportHeartbeat();
    await this.reportResources();
    const instances = await this.conductor.instancesOnHost(ctx, this.host);
    for (const instance of instances) {
      await this.initInstance(ctx, instance).catch((err: Error) =>
        log.error({ instance: instance.uuid, err: err.message }, 'could not settle instance at start-up'),
      );
    }
    log.info({ host: this.host, nodes: this.driver.nodes().length, instances: instances.length }, 'compute host ready');
  }

  async reportHeartbeat(): Promise<void> {
    await this.conductor.serviceHeartbeat(adminContext(), this.host, 'stratus-compute', 'compute');
  }

  async reportResources(): Promise<void> {
    await this.conductor.reportNodes(
      adminContext(),
      this.host,
      nodeReports(this.config, this.driver.nodes(), this.driver.listGuests()),
    );
  }

  private async initInstance(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    const guest = this.driver.listGuests().find((g) => g.uuid === instance.uuid);
    if (instance.task_state === TaskState.DELETING) return this.terminateInstance(ctx, instance);
    if (instance.vm_state === VmState.BUILDING) {
      await this.update(ctx, instance.uuid, { vm_state: VmState.ERROR, task_state: null });
      await this.conductor.recordFault(ctx, {
        uuid: instance.uuid,
        code: 500,
        message: 'The compute service restarted while this instance was being built.',
        details: '',
        host: this.host,
      });
      await this.driver.destroy(instance.uuid);
      return;
    }
    const running = guest?.powerState === PowerState.RUNNING;
    const wantsRunning = instance.vm_state === VmState.ACTIVE;
    if (wantsRunning && !running && this.config.DEFAULT.resume_guests_state_on_host_boot) {
      log.info({ instance: instance.uuid }, 'resuming guest after host restart');
      if (!guest) await this.driver.spawn(instance, instance.node ?? this.host);
      else await this.driver.powerOn(instance.uuid);
      await this.update(ctx, instance.uuid, { power_state: PowerState.RUNNING, task_state: null });
      return;
    }
    const changes: InstanceChangesPayload = { power_state: guest?.powerState ?? PowerState.NOSTATE, task_state: null };
    // A guest that should run but does not is what the user sees as SHUTOFF (Nova's power-state sync).
    if (wantsRunning && !running) changes.vm_state = VmState.STOPPED;
    await this.update(ctx, instance.uuid, changes);
  }

  async buildAndRunInstance(
    ctx: RequestContext,
    instance: InstancePayload,
    node: string,
    alternates: Selection[],
    attempt: number,
  ): Promise<void> {
    const event = 'compute_build_and_run_instance';
    try {
      await this.update(ctx, instance.uuid, { task_state: TaskState.SPAWNING }, [TaskState.SCHEDULING], {
        event,
        phase: 'start',
      });
    } catch (err) {
      if (isGone(err)) return log.info({ instance: instance.uuid }, 'instance deleted before its build started');
      throw err;
    }
    try {
      await this.driver.spawn(instance, node);
    } catch (err) {
      const error = err as Error;
      log.warn(
        { instance: instance.uuid, node, err: error.message },
        'build failed; asking the conductor to reschedule',
      );
      await this.driver.destroy(instance.uuid).catch(() => undefined);
      await this.event(ctx, instance.uuid, event, 'finish', error);
      await this.conductor.rescheduleBuild(ctx, {
        uuid: instance.uuid,
        host: this.host,
        node,
        attempt,
        alternates,
        error: { message: error.message, traceback: error.stack ?? '' },
      });
      return;
    }
    try {
      await this.update(
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
      );
    } catch (err) {
      if (!isGone(err)) throw err;
      log.info({ instance: instance.uuid }, 'instance deleted while it was spawning; removing the guest');
      await this.driver.destroy(instance.uuid);
    }
  }

  async terminateInstance(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    await this.event(ctx, instance.uuid, 'compute_terminate_instance', 'start');
    await this.driver.destroy(instance.uuid);
    await this.conductor.instanceDeleted(ctx, instance.uuid);
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
      const guest = this.driver.listGuests().find((g) => g.uuid === instance.uuid);
      await this.update(
        ctx,
        instance.uuid,
        { task_state: null, power_state: guest?.powerState ?? PowerState.NOSTATE },
        expectedTasks,
      ).catch(() => undefined);
      await this.conductor.recordFault(ctx, {
        uuid: instance.uuid,
        code: 500,
        message: error.message,
        details: error.stack ?? '',
        host: this.host,
      });
      await this.event(ctx, instance.uuid, event, 'finish', error);
      return;
    }
    try {
      await this.update(ctx, instance.uuid, { ...changes, task_state: null }, expectedTasks, {
        event,
        phase: 'finish',
      });
    } catch (err) {
      if (!isGone(err)) throw err;
      log.info({ instance: instance.uuid, event }, 'instance changed under the action (deleted?); leaving it');
    }
  }

  /** Periodic: brings the database in line with what the hypervisor says (Nova's _sync_power_states). */
  async syncPowerStates(): Promise<void> {
    const ctx = adminContext();
    const guests = new Map(this.driver.listGuests().map((g) => [g.uuid, g]));
    for (const instance of await this.conductor.instancesOnHost(ctx, this.host)) {
      if (instance.task_state !== null || instance.vm_state === VmState.BUILDING) continue;
      const power = guests.get(instance.uuid)?.powerState ?? PowerState.NOSTATE;
      if (power === instance.power_state) continue;
      const changes: InstanceChangesPayload = { power_state: power };
      if (instance.vm_state === VmState.ACTIVE && power !== PowerState.RUNNING) changes.vm_state = VmState.STOPPED;
      log.info(
        { instance: instance.uuid, from: instance.power_state, to: power },
        'power state changed behind our back',
      );
      await this.update(ctx, instance.uuid, changes, [null]).catch((err: Error) => {
        if (!isGone(err)) throw err;
      });
    }
  }

  private update(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expected?: readonly (string | null)[],
    event?: { event: string; phase: 'start' | 'finish' },
  ) {
    return this.conductor.instanceUpdate(ctx, uuid, changes, expected, event && { ...event, host: this.host });
  }

  private async event(
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
