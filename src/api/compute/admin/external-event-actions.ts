/**
 * What an external event leaves in a server's instance actions, as Nova's compute API and compute
 * manager record it: a `volume-extended` event is an `extend_volume` action (a user started it in the
 * volume service and follows it here), a `power-update` an action `start` (tag POWER_ON) or `stop`
 * (POWER_OFF), each with its compute event. Network and accelerator events record nothing, in Nova too.
 *
 * The outcome is the one Nova's compute reaches on a host like Stratus's: no volume is ever attached, so
 * a volume-extended event finds nothing to grow and ends in Success (Nova logs and returns); a
 * power-update that finds the server already in the asked state is a no-op (Success); one that would
 * change it needs a driver that follows power changes made outside (Nova's Ironic), which the qemu and
 * fake drivers are not, so it fails as Nova's libvirt driver does: Error, with a fault.
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import { finishEvent, startAction, startEvent } from '../../../objects/instance-actions.ts';
import { recordFault } from '../../../objects/instance-faults.ts';
import { PowerState, VmState } from '../../../wire/messages/instance-states.ts';

export interface ExternalEvent {
  name: string;
  tag: string | null;
}

export interface EventTarget {
  uuid: string;
  host: string;
  vm_state: string;
  task_state: string | null;
  power_state: number;
}

/** Whether a power-update to `tag` would change the server (Nova's _is_state_valid_for_power_update_event). */
function powerUpdateApplies(instance: EventTarget, tag: string): boolean {
  if (instance.task_state !== null) return false;
  if (tag === 'POWER_ON') return instance.vm_state === VmState.STOPPED && instance.power_state === PowerState.SHUTDOWN;
  return instance.vm_state === VmState.ACTIVE && instance.power_state === PowerState.RUNNING;
}

export async function recordExternalEvent(
  db: Db,
  ctx: RequestContext,
  instance: EventTarget,
  event: ExternalEvent,
): Promise<void> {
  let action: string;
  let step: string;
  let failure: string | null = null;
  if (event.name === 'volume-extended') {
    action = 'extend_volume';
    step = 'compute_extend_volume';
  } else if (event.name === 'power-update' && (event.tag === 'POWER_ON' || event.tag === 'POWER_OFF')) {
    action = event.tag === 'POWER_ON' ? 'start' : 'stop';
    step = 'compute_power_update';
    if (powerUpdateApplies(instance, event.tag)) {
      failure = 'The virt driver does not handle power updates made outside the compute service.';
    }
  } else {
    // Network and accelerator events, and a power-update with an unknown tag, which Nova skips.
    return;
  }
  await startAction(db, ctx, instance.uuid, action);
  await startEvent(db, instance.uuid, ctx.requestId, step, instance.host);
  if (failure === null) {
    await finishEvent(db, instance.uuid, ctx.requestId, step, 'Success');
    return;
  }
  await recordFault(db, instance.uuid, {
    code: 500,
    message: 'NotImplementedError',
    details: failure,
    host: instance.host,
  });
  await finishEvent(db, instance.uuid, ctx.requestId, step, 'Error', { message: failure });
}
