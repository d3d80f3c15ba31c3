/**
 * The compute host's conductor client, watched: every state change, fault, reschedule and delete the
 * host sends also goes to the instance tracker, which is how notifications learn the states an action
 * left without the compute manager calling them itself. With [notifications] notify_on_state_change, a
 * state change also sends instance.update, as Nova's Instance.save does.
 */
import type { RequestContext } from '../../common/context.ts';
import type { Notifier } from '../../common/notifications/notifier.ts';
import type { RpcClient } from '../../common/rpc/index.ts';
import type { VersionCap } from '../../wire/contract.ts';
import {
  ConductorRpcApi,
  type ActionEventRequest,
  type ActionEventWithUpdate,
  type FaultRequest,
  type RescheduleRequest,
} from '../../wire/contracts/conductor.ts';
import type { InstanceChangesPayload, InstancePayload } from '../../wire/messages/instance-payload.ts';
import { VmState } from '../../wire/messages/instance-states.ts';
import { updatePayload } from '../../wire/notifications/instance-payloads.ts';
import type { InstanceTracker } from './tracker.ts';

type StateChange = 'vm_state' | 'vm_and_task_state' | null;

export class ObservedConductor extends ConductorRpcApi {
  constructor(
    client: RpcClient,
    peers: VersionCap | undefined,
    private readonly tracker: InstanceTracker,
    private readonly notifier: Notifier,
    private readonly notifyOnStateChange: StateChange,
  ) {
    super(client, peers);
  }

  override async instanceUpdate(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expectedTaskState?: readonly (string | null)[],
    event?: ActionEventWithUpdate,
    expectedVmState?: readonly string[],
  ): Promise<void> {
    await super.instanceUpdate(ctx, uuid, changes, expectedTaskState, event, expectedVmState);
    // Only once the conductor has taken it: a refused change (the instance changed meanwhile) did not happen.
    const before = this.tracker.apply(uuid, changes);
    const after = this.tracker.get(uuid);
    if (!before || !after || !this.notifier.enabled || this.notifyOnStateChange === null) return;
    const vmChanged = before.vm_state !== after.instance.vm_state;
    const taskChanged = before.task_state !== after.instance.task_state;
    if (vmChanged || (this.notifyOnStateChange === 'vm_and_task_state' && taskChanged)) {
      this.notifier.emit(ctx, 'instance.update', updatePayload(ctx, after, before, new Date()));
    }
  }

  override async actionEvent(ctx: RequestContext, args: ActionEventRequest): Promise<void> {
    if (args.phase === 'finish' && args.error) {
      this.tracker.failed(args.uuid, {
        exception: 'InstanceActionFailed',
        message: args.error.message,
        traceback: args.error.traceback,
      });
    }
    await super.actionEvent(ctx, args);
  }

  override async recordFault(ctx: RequestContext, args: FaultRequest): Promise<void> {
    this.tracker.failed(args.uuid, { exception: 'InstanceFault', message: args.message, traceback: args.details });
    await super.recordFault(ctx, args);
  }

  override async rescheduleBuild(ctx: RequestContext, args: RescheduleRequest): Promise<void> {
    this.tracker.rescheduled(args.uuid, args.abort ? 'abort' : 'elsewhere', {
      exception: args.abort ? 'BuildAbortException' : 'RescheduledException',
      message: args.error.message,
      traceback: args.error.traceback,
    });
    await super.rescheduleBuild(ctx, args);
  }

  override async instanceDeleted(ctx: RequestContext, uuid: string): Promise<void> {
    await super.instanceDeleted(ctx, uuid);
    this.tracker.patch(uuid, (i) => {
      i.vm_state = VmState.DELETED;
      i.task_state = null;
    });
    this.tracker.deleted(uuid, new Date());
  }

  override async instanceShelved(
    ctx: RequestContext,
    args: Parameters<ConductorRpcApi['instanceShelved']>[1],
  ): Promise<void> {
    await super.instanceShelved(ctx, args);
    this.tracker.patch(args.uuid, (i) => {
      i.vm_state = VmState.SHELVED;
      i.task_state = args.offload ? 'shelving_offloading' : null;
      i.power_state = args.power_state;
    });
  }

  override async instanceShelveOffloaded(
    ctx: RequestContext,
    uuid: string,
    powerState: number,
    expectedTaskState: readonly (string | null)[],
  ): Promise<void> {
    await super.instanceShelveOffloaded(ctx, uuid, powerState, expectedTaskState);
    this.tracker.patch(uuid, (i) => {
      i.vm_state = VmState.SHELVED_OFFLOADED;
      i.task_state = null;
      i.power_state = powerState;
      i.host = null;
      i.node = null;
    });
  }

  override async instanceUnshelved(
    ctx: RequestContext,
    uuid: string,
    powerState: number,
    expectedTaskState: readonly (string | null)[],
  ): Promise<void> {
    await super.instanceUnshelved(ctx, uuid, powerState, expectedTaskState);
    this.tracker.patch(uuid, (i) => {
      i.vm_state = VmState.ACTIVE;
      i.task_state = null;
      i.power_state = powerState;
    });
  }

  /** The host's instances as the conductor has them: the tracker starts from there for periodic changes. */
  override async instancesOnHost(ctx: RequestContext, host: string, uuid?: string): Promise<InstancePayload[]> {
    const instances = await super.instancesOnHost(ctx, host, uuid);
    for (const instance of instances) if (!this.tracker.get(instance.uuid)) this.tracker.see(instance);
    return instances;
  }
}
