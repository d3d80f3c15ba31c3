/**
 * The compute host's side of guest networking, behind one interface so that the API, the compute manager
 * and the virt drivers never depend on how packets move: the Linux bridge driver (linux-bridge/) today, an
 * Open vSwitch or OVN driver later, and a driver that moves nothing for the fake virt driver.
 *
 * The manager drives it with the VIFs the network service resolved (wire/messages/network-info.ts):
 * `plug` before a guest starts (its taps must exist then: qemu opens them by name), again whenever a
 * port changes (security group rules, floating IPs: plug is idempotent and replaces the port's state),
 * `unplug` after the guest is gone (or an interface is detached), and `reconcile` once at start with
 * every port the host should have, so that a restarted compute rebuilds what is missing and removes what
 * is left over from ports deleted while it was down.
 *
 * A rule naming a remote group comes without the group's addresses (member-sets.ts): the driver keeps
 * one set per group, told by `groupMembers` (before the plug or reconcile of a port that names it, and
 * again whenever the group's members change), and applies it to every rule naming the group, so a
 * member change costs the host one update of the set, not a plug of every guest watching the group.
 */
import type { GroupMembers } from '../../wire/contracts/compute.ts';
import type { Vif } from '../../wire/messages/network-info.ts';

/** One guest's ports on this host, with the flavor extra specs that limit its interfaces' bandwidth. */
export interface GuestPorts {
  instanceUuid: string;
  /** The guest's project: the metadata proxy tells the metadata service (X-Tenant-ID). */
  projectId: string;
  vifs: readonly Vif[];
  /** The flavor's extra_specs (`quota:vif_*` are read; everything else is ignored). */
  extraSpecs: Readonly<Record<string, string>>;
}

export interface NetworkDriver {
  /** Makes the listed ports of a guest ready (created or updated); its other ports stay as they are. */
  plug(
    instanceUuid: string,
    vifs: readonly Vif[],
    extraSpecs: Readonly<Record<string, string>>,
    projectId: string,
  ): Promise<void>;
  /** Removes the listed ports of a guest, and whatever no other port on this host still needs. */
  unplug(instanceUuid: string, vifs: readonly Vif[]): Promise<void>;
  /** Makes the host carry exactly these guests' ports: missing state is made, state of other ports removed. */
  reconcile(wanted: readonly GuestPorts[]): Promise<void>;
  /**
   * These groups' members are now these addresses: rules naming one of them as remote group admit them
   * (those of ports plugged now and of ports plugged later). A rule naming a group never told here keeps
   * the addresses it came with.
   */
  groupMembers(groups: readonly GroupMembers[]): Promise<void>;
}
