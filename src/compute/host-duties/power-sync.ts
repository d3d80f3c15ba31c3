/**
 * What to do when the database's view of an instance and the hypervisor's view of its guest disagree:
 * Nova's `_sync_instance_power_state`, as a pure decision so that the periodic sync, the lifecycle
 * events and the start-up settling all follow the same rules.
 *
 * - An instance with a task under way is left alone: the task will record its own outcome.
 * - The recorded power_state always follows the hypervisor.
 * - ACTIVE, but the guest is off or crashed: the instance is stopped (SHUTOFF), as Nova does by calling
 *   its stop API; a crash is also recorded with a fault. PAUSED with the guest off ends the same way.
 * - ACTIVE, but the guest sits suspended on the hypervisor: stopped, forcing the guest off (Nova's
 *   force_stop).
 * - STOPPED, but the guest runs (or is paused): the guest is powered off, since the user's last word
 *   was "stop" (Nova's force_stop).
 * - Anything else (building, error, suspended, deleted, a guest not found on the hypervisor): only the
 *   power_state is recorded.
 */
import { PowerState, VmState } from '../../wire/messages/instance-states.ts';

export type PowerSyncDecision =
  | { kind: 'none' }
  | { kind: 'record'; powerState: number }
  /**
   * Record the instance as stopped; `powerOff` when the guest still has to be turned off (it runs, or
   * sits suspended, though the instance is stopped or should be).
   */
  | { kind: 'stop'; powerState: number; crashed: boolean; powerOff: boolean };

const OFF: readonly number[] = [PowerState.SHUTDOWN, PowerState.CRASHED];

export function powerSyncDecision(
  instance: { vm_state: string; task_state: string | null; power_state: number },
  guestPowerState: number,
): PowerSyncDecision {
  if (instance.task_state !== null) return { kind: 'none' };
  const power = guestPowerState;
  const crashed = power === PowerState.CRASHED;
  switch (instance.vm_state) {
    case VmState.ACTIVE:
      if (OFF.includes(power)) return { kind: 'stop', powerState: power, crashed, powerOff: false };
      if (power === PowerState.SUSPENDED) return { kind: 'stop', powerState: power, crashed, powerOff: true };
      break;
    case VmState.PAUSED:
      if (OFF.includes(power)) return { kind: 'stop', powerState: power, crashed, powerOff: false };
      break;
    case VmState.STOPPED:
      if (!OFF.includes(power) && power !== PowerState.NOSTATE) {
        return { kind: 'stop', powerState: power, crashed: false, powerOff: true };
      }
      break;
  }
  return power === instance.power_state ? { kind: 'none' } : { kind: 'record', powerState: power };
}
