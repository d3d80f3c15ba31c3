/**
 * A guest's network interfaces: one virtio-net NIC per VIF of its NetworkInfo, each backed by the tap
 * device the host's datapath made for the port (`devname`), with the port's MAC address so the DHCP server
 * recognises the guest. The NICs are recorded in guest.json, so that every later start of the guest's qemu
 * (power on, reboot, rescue, rebuild, resume from a saved state, after a compute restart) gives it the same
 * devices, in the same order, without asking the network service again; a resumed guest even needs them,
 * since a saved state only loads into a qemu with the devices it was saved with.
 */
import { InstanceInvalidState } from '../../../common/errors.ts';
import { getLogger } from '../../../common/log/logger.ts';
import type { NetworkInfo, Vif } from '../../../wire/messages/network-info.ts';
import { QmpCommandError, type QmpClient } from './qmp-client.ts';

const log = getLogger('compute.qemu');
/** How long a guest gets to release an unplugged NIC (ACPI eject; slow under emulation on a busy host). */
const NIC_RELEASE_WAIT_MS = 60_000;

/** One NIC as guest.json records it: what qemu needs to create it again. */
export interface GuestNic {
  /** The port's id; the QEMU ids of the NIC's two halves derive from it (nicIds). */
  portId: string;
  mac: string;
  /** The host's tap device the NIC sends into. */
  tap: string;
}

/** Linux interface names: at most 15 characters; we also keep out what QEMU's option syntax would split on. */
const TAP_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** QEMU ids: a letter, then letters, digits, '-', '.' and '_'. */
const PORT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The NIC for `vif`; throws on a field QEMU could misread (the wire schema checks them too, but qemu args are unforgiving). */
export function guestNic(vif: Vif): GuestNic {
  const mac = vif.mac_address.toLowerCase();
  if (!PORT_ID.test(vif.id)) throw new Error(`port id ${JSON.stringify(vif.id)} cannot name a QEMU device`);
  if (!MAC.test(mac)) throw new Error(`port ${vif.id} has an invalid MAC address ${JSON.stringify(vif.mac_address)}`);
  if (!TAP_NAME.test(vif.devname))
    throw new Error(`port ${vif.id} has an invalid tap name ${JSON.stringify(vif.devname)}`);
  return { portId: vif.id, mac, tap: vif.devname };
}

/** The guest's NICs for `networkInfo`, in its order (the guest's eth0, eth1, ...); a port listed twice is refused. */
export function guestNics(networkInfo: NetworkInfo): GuestNic[] {
  const nics = networkInfo.map(guestNic);
  const seen = new Set<string>();
  for (const nic of nics) {
    if (seen.has(nic.portId)) throw new Error(`port ${nic.portId} is listed twice in the network info`);
    seen.add(nic.portId);
  }
  return nics;
}

/** Whether two lists are the same NICs in the same order. */
export function sameNics(a: readonly GuestNic[], b: readonly GuestNic[]): boolean {
  return a.length === b.length && a.every((nic, i) => JSON.stringify(nic) === JSON.stringify(b[i]));
}

/**
 * The QEMU ids of a NIC's backend (-netdev) and its device (-device). Derived from the port rather than the
 * position, so a NIC plugged or unplugged later never collides with or renames the others.
 */
export function nicIds(nic: GuestNic): { netdev: string; device: string } {
  return { netdev: `hostnet-${nic.portId}`, device: `net-${nic.portId}` };
}

/** The qemu arguments for the guest's NICs: a tap backend and a virtio-net-pci device each, in order. */
export function nicArguments(nics: readonly GuestNic[]): string[] {
  return nics.flatMap((nic) => {
    const { netdev, device } = nicIds(nic);
    return [
      // script=no: the datapath made and bridged the tap already; qemu only opens it.
      '-netdev',
      `tap,id=${netdev},ifname=${nic.tap},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=${netdev},id=${device},mac=${nic.mac}`,
    ];
  });
}

/**
 * The command that starts qemu: the binary itself, or, when the datapath keeps its bridges and taps in a
 * network namespace, the binary run inside it (`ip netns exec`), since qemu opens a tap by name in its own
 * namespace.
 */
export function qemuCommand(
  binary: string,
  args: readonly string[],
  networkNamespace: string | null,
): { file: string; args: string[] } {
  if (!networkNamespace) return { file: binary, args: [...args] };
  return { file: 'ip', args: ['netns', 'exec', networkNamespace, binary, ...args] };
}

/**
 * Plugs `nic` into the running guest (QMP netdev_add, then device_add); the guest sees a new PCI device
 * through ACPI hot-plug. If the device cannot be added, a backend added for it is removed again.
 */
export async function plugNic(qmp: QmpClient, nic: GuestNic): Promise<void> {
  const { netdev, device } = nicIds(nic);
  const added = await alreadyThere(
    qmp.execute('netdev_add', { type: 'tap', id: netdev, ifname: nic.tap, script: 'no', downscript: 'no' }),
  );
  try {
    await alreadyThere(qmp.execute('device_add', { driver: 'virtio-net-pci', netdev, id: device, mac: nic.mac }));
  } catch (err) {
    if (added) await qmp.execute('netdev_del', { id: netdev }).catch(() => undefined);
    throw err;
  }
}

/**
 * Runs an add command; a duplicate id (a plug repeated after a crash between the plug and guest.json)
 * counts as done. True when this call added it.
 */
async function alreadyThere(command: Promise<unknown>): Promise<boolean> {
  try {
    await command;
    return true;
  } catch (err) {
    if (err instanceof QmpCommandError && /duplicate/i.test(err.message)) return false;
    throw err;
  }
}

/**
 * Unplugs `nic` from the running guest: device_del asks the guest to release the device (ACPI eject),
 * which it does in its own time; QEMU reports DEVICE_DELETED once it is gone, and only then can the tap
 * backend be removed. A guest that does not let go within `timeoutMs` keeps the NIC (InstanceInvalidState
 * says so); a NIC already gone from qemu is not an error, so a repeated unplug completes.
 */
export async function unplugNic(qmp: QmpClient, nic: GuestNic, timeoutMs: number): Promise<void> {
  const { netdev, device } = nicIds(nic);
  // Listened for before the command: the guest may release the device before device_del's answer arrives.
  const deleted = qmp.waitForEvent('DEVICE_DELETED', (data) => data?.['device'] === device, timeoutMs);
  let present = true;
  try {
    await qmp.execute('device_del', { id: device });
  } catch (err) {
    deleted.cancel();
    if (!(err instanceof QmpCommandError && err.errorClass === 'DeviceNotFound')) throw err;
    present = false;
  }
  if (present) {
    try {
      await deleted.promise;
    } catch (err) {
      throw new Error(`the guest did not release its NIC of port ${nic.portId}: ${(err as Error).message}`);
    }
  }
  try {
    await qmp.execute('netdev_del', { id: netdev });
  } catch (err) {
    // Already removed (an earlier unplug got this far): nothing is left to do.
    if (!(err instanceof QmpCommandError && /not found/i.test(err.message))) throw err;
  }
}

/** What attach and detach need of a guest. */
export interface NicGuest {
  /** guest.json's record; `nics` is changed in place, then saved. */
  readonly spec: { uuid: string; nics?: GuestNic[] };
  save(): Promise<void>;
  /** Its qemu runs (paused included). */
  readonly running: boolean;
  /** It is off with a saved state to resume from. */
  readonly suspended: boolean;
  qmp(): Promise<QmpClient>;
}

/**
 * Gives the guest a NIC for `vif`: hot-plugged into a running (or paused) guest, then recorded; a stopped
 * guest only records it and gets it at its next start. Plugged before it is recorded, so a repeat after a
 * crash in between plugs again, which plugNic takes as done. A port the guest has is left as it is.
 */
export async function attachNic(guest: NicGuest, vif: Vif): Promise<void> {
  const nic = guestNic(vif);
  const nics = guest.spec.nics ?? [];
  if (nics.some((n) => n.portId === nic.portId)) return;
  refuseWhileSuspended(guest, `attach port ${vif.id} to`);
  if (guest.running) await plugNic(await guest.qmp(), nic);
  guest.spec.nics = [...nics, nic];
  await guest.save();
  log.info({ instance: guest.spec.uuid, port: vif.id, tap: nic.tap, live: guest.running }, 'interface attached');
}

/** Removes the guest's NIC of port `vif.id`: unplugged from a running guest (once it let go), then forgotten. */
export async function detachNic(guest: NicGuest, vif: Vif, timeoutMs = NIC_RELEASE_WAIT_MS): Promise<void> {
  const nics = guest.spec.nics ?? [];
  const nic = nics.find((n) => n.portId === vif.id);
  if (!nic) return;
  refuseWhileSuspended(guest, `detach port ${vif.id} from`);
  if (guest.running) await unplugNic(await guest.qmp(), nic, timeoutMs);
  guest.spec.nics = nics.filter((n) => n !== nic);
  await guest.save();
  log.info({ instance: guest.spec.uuid, port: vif.id, live: guest.running }, 'interface detached');
}

/** A suspended guest's saved state loads only into a qemu with the same devices: its NICs cannot change. */
function refuseWhileSuspended(guest: NicGuest, what: string): void {
  if (guest.suspended) throw new InstanceInvalidState(`guest ${guest.spec.uuid} is suspended; cannot ${what} it`);
}
