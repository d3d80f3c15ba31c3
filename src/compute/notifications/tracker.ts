/**
 * What a compute host knows of its instances' current state, for notifications: the instance as an RPC
 * message or the conductor last gave it, with every change the host has sent since applied, and how the
 * action running on it ended (an error, a fault, a reschedule). The conductor client (observed-conductor.ts)
 * feeds it; the action wrapper (action-notifications.ts) reads it. Instances leave it when deleted or
 * when the host drops them, so it holds at most the host's instances.
 */
import type { InstanceChangesPayload, InstancePayload } from '../../wire/messages/instance-payload.ts';
import type { NetworkInfo } from '../../wire/messages/network-info.ts';
import type { Fault, InstanceFacts } from '../../wire/notifications/instance-payloads.ts';

interface Tracked extends InstanceFacts {
  /** How the action in progress went wrong, if it did. */
  failure: Fault | null;
  /** The conductor was asked to build it elsewhere (or to give up: `abort`). */
  rescheduled: 'elsewhere' | 'abort' | null;
}

export class InstanceTracker {
  private readonly instances = new Map<string, Tracked>();

  /** Records the instance as a message or the conductor describes it now; the action's outcome is reset. */
  see(instance: InstancePayload, networkInfo?: NetworkInfo): void {
    const known = this.instances.get(instance.uuid);
    this.instances.set(instance.uuid, {
      instance: { ...instance },
      networkInfo: networkInfo ?? known?.networkInfo ?? [],
      progress: known?.progress ?? null,
      deletedAt: null,
      failure: null,
      rescheduled: null,
    });
  }

  get(uuid: string): Tracked | undefined {
    return this.instances.get(uuid);
  }

  /** Applies changes sent to the conductor; returns the states before, or null for an unknown instance. */
  apply(uuid: string, changes: InstanceChangesPayload): { vm_state: string; task_state: string | null } | null {
    const known = this.instances.get(uuid);
    if (!known) return null;
    const before = { vm_state: known.instance.vm_state, task_state: known.instance.task_state };
    const i = known.instance;
    if (changes.vm_state !== undefined) i.vm_state = changes.vm_state;
    if (changes.task_state !== undefined) i.task_state = changes.task_state;
    if (changes.power_state !== undefined) i.power_state = changes.power_state;
    if (changes.launched_at !== undefined) i.launched_at = changes.launched_at;
    if (changes.progress !== undefined) known.progress = changes.progress;
    return before;
  }

  /** The host's other changes, made through dedicated conductor methods (shelve, delete). */
  patch(uuid: string, change: (instance: InstancePayload) => void): void {
    const known = this.instances.get(uuid);
    if (known) change(known.instance);
  }

  failed(uuid: string, failure: Fault): void {
    const known = this.instances.get(uuid);
    if (known) known.failure ??= failure;
  }

  rescheduled(uuid: string, how: 'elsewhere' | 'abort', failure: Fault): void {
    const known = this.instances.get(uuid);
    if (!known) return;
    known.rescheduled = how;
    known.failure ??= failure;
  }

  deleted(uuid: string, at: Date): void {
    const known = this.instances.get(uuid);
    if (known) known.deletedAt = at.toISOString();
  }

  /** Once an action's notifications are out: a deleted, rescheduled or offloaded instance is no longer this host's. */
  settle(uuid: string): void {
    const known = this.instances.get(uuid);
    if (known && (known.deletedAt !== null || known.rescheduled !== null || known.instance.host === null)) {
      this.instances.delete(uuid);
    }
  }
}
