/**
 * Compute's side of rescue, unrescue, trigger_crash_dump and diagnostics (Nova's rescue_instance,
 * unrescue_instance, trigger_crash_dump and get_instance_diagnostics), beside the manager that wires them.
 *
 * Rescue stops the guest and boots it from a rescue disk (the image asked for, else the instance's own
 * image, as Nova chooses) with its own disk attached second; then RESCUED. Unrescue boots its own disk
 * again; then ACTIVE. A driver failure in either leaves the instance in ERROR with a fault, as Nova does
 * (the guest may be half-way: only an operator can tell). A compute restart in the middle settles by the
 * guest's own record: a rescue that had begun is completed, one that had not is withdrawn, and an
 * unrescue is completed.
 */
import type { RequestContext } from '../common/context.ts';
import { InstanceInvalidState } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import { powerStateName, type GuestDiagnostics } from '../wire/messages/guest-diagnostics.ts';
import type { InstancePayload } from '../wire/messages/instance-payload.ts';
import { PowerState, TaskState, VmState } from '../wire/messages/instance-states.ts';
import type { HostActionSteps } from './host-action-steps.ts';

const log = getLogger('compute.rescue');

export async function rescueInstance(
  steps: HostActionSteps,
  ctx: RequestContext,
  instance: InstancePayload,
  rescueImageRef: string | null,
): Promise<void> {
  const event = 'compute_rescue_instance';
  const uuid = instance.uuid;
  await steps.event(ctx, uuid, event, 'start');
  // Nova's _get_rescue_image: the image asked for, else the instance's own (Stratus keeps no
  // image_base_image_ref, which Nova would try in between).
  const imageRef = rescueImageRef ?? instance.image_ref;
  try {
    await steps.driver.rescue(uuid, imageRef, steps.config.DEFAULT.shutdown_timeout);
  } catch (err) {
    const error = new Error(`Instance ${uuid} cannot be rescued: Driver Error: ${(err as Error).message}`);
    log.warn({ instance: uuid, image: imageRef, err: error.message }, 'rescue failed');
    return steps.failAction(ctx, uuid, event, error, [TaskState.RESCUING], {
      vm_state: VmState.ERROR,
      power_state: steps.driver.powerState(uuid),
    });
  }
  const changes = {
    vm_state: VmState.RESCUED,
    power_state: steps.driver.powerState(uuid),
    launched_at: new Date().toISOString(),
  };
  await steps.finishAction(ctx, uuid, changes, [TaskState.RESCUING], event, { image: imageRef });
  log.info({ instance: uuid, image: imageRef }, 'guest rescued');
}

export async function unrescueInstance(
  steps: HostActionSteps,
  ctx: RequestContext,
  instance: InstancePayload,
): Promise<void> {
  const event = 'compute_unrescue_instance';
  const uuid = instance.uuid;
  await steps.event(ctx, uuid, event, 'start');
  try {
    await steps.driver.unrescue(uuid);
  } catch (err) {
    const error = err as Error;
    log.warn({ instance: uuid, err: error.message }, 'unrescue failed');
    return steps.failAction(ctx, uuid, event, error, [TaskState.UNRESCUING], {
      vm_state: VmState.ERROR,
      power_state: steps.driver.powerState(uuid),
    });
  }
  const changes = { vm_state: VmState.ACTIVE, power_state: steps.driver.powerState(uuid) };
  await steps.finishAction(ctx, uuid, changes, [TaskState.UNRESCUING], event, {});
  log.info({ instance: uuid }, 'guest unrescued');
}

/**
 * A rescue or unrescue a compute restart interrupted: true when handled. A rescue the guest's record
 * shows begun is completed; one it does not show never touched the guest and is withdrawn (the caller's
 * power-state rules then settle the rest). An unrescue is always completed: the driver's unrescue of a
 * guest no longer rescued only makes sure it runs.
 */
export async function settleInterruptedRescue(
  steps: HostActionSteps,
  ctx: RequestContext,
  instance: InstancePayload,
): Promise<boolean> {
  if (instance.task_state === TaskState.UNRESCUING) {
    await unrescueInstance(steps, ctx, instance);
    return true;
  }
  if (instance.task_state !== TaskState.RESCUING) return false;
  if (!steps.driver.isRescued(instance.uuid)) return false;
  // The image the rescue began with is the guest's record's; the driver keeps it on a repeat.
  await rescueInstance(steps, ctx, instance, null);
  return true;
}

/**
 * trigger_crash_dump: an NMI for the guest, whose kernel decides what it does with it (a panic and a
 * dump, if so configured). No state changes, as in Nova; a failure is recorded as a fault and on the
 * action's event.
 */
export async function triggerCrashDump(steps: HostActionSteps, ctx: RequestContext, instance: InstancePayload) {
  const event = 'compute_trigger_crash_dump';
  const uuid = instance.uuid;
  await steps.event(ctx, uuid, event, 'start');
  try {
    await steps.driver.triggerCrashDump(uuid);
  } catch (err) {
    const error = err as Error;
    log.warn({ instance: uuid, err: error.message }, 'could not inject an NMI');
    await steps.fault(ctx, uuid, error.message, error.stack ?? '').catch(() => undefined);
    return steps.event(ctx, uuid, event, 'finish', error);
  }
  await steps.event(ctx, uuid, event, 'finish');
  log.info({ instance: uuid }, 'NMI injected');
}

/** A running guest's diagnostics; Nova refuses, by the recorded power state, a guest that does not run. */
export async function getDiagnostics(steps: HostActionSteps, instance: InstancePayload): Promise<GuestDiagnostics> {
  if (steps.driver.powerState(instance.uuid) !== PowerState.RUNNING) {
    throw new InstanceInvalidState(
      `Instance ${instance.uuid} in power state ${powerStateName(instance.power_state)}. ` +
        'Cannot get_diagnostics while the instance is in this state.',
    );
  }
  return steps.driver.getDiagnostics(instance.uuid);
}
