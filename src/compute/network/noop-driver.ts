/**
 * The network driver of the fake virt driver: its guests have no devices to plug into anything. It keeps
 * the ports it was given so that tests and diagnostics can see what the manager asked for.
 */
import type { Vif } from '../../wire/messages/network-info.ts';
import type { GuestPorts, NetworkDriver } from './network-driver.ts';

export class NoopNetworkDriver implements NetworkDriver {
  private readonly guests = new Map<string, Map<string, Vif>>();

  plug(
    instanceUuid: string,
    vifs: readonly Vif[],
    _extraSpecs: Readonly<Record<string, string>>,
    _projectId: string,
  ): Promise<void> {
    const ports = this.guests.get(instanceUuid) ?? new Map<string, Vif>();
    for (const vif of vifs) ports.set(vif.id, vif);
    this.guests.set(instanceUuid, ports);
    return Promise.resolve();
  }

  unplug(instanceUuid: string, vifs: readonly Vif[]): Promise<void> {
    const ports = this.guests.get(instanceUuid);
    for (const vif of vifs) ports?.delete(vif.id);
    if (ports?.size === 0) this.guests.delete(instanceUuid);
    return Promise.resolve();
  }

  reconcile(wanted: readonly GuestPorts[]): Promise<void> {
    this.guests.clear();
    for (const guest of wanted) {
      if (guest.vifs.length > 0) this.guests.set(guest.instanceUuid, new Map(guest.vifs.map((v) => [v.id, v])));
    }
    return Promise.resolve();
  }

  /** No devices, no rules: nothing admits anyone here. */
  groupMembers(): Promise<void> {
    return Promise.resolve();
  }

  /** The port ids plugged for a guest, in plug order. */
  pluggedPorts(instanceUuid: string): string[] {
    return [...(this.guests.get(instanceUuid)?.keys() ?? [])];
  }
}
