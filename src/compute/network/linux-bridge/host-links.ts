/**
 * The link layer of the datapath with iproute2: bridges, VLAN sub-interfaces, taps and the addresses the
 * host holds on bridges. Each `ensure` is idempotent and says whether it created the device, so the
 * driver removes only what it made (a tap that existed before, e.g. one end of a veth, is only released).
 */
import type { HostCommands } from '../host-commands.ts';
import type { Uplink } from './host-plan.ts';

export async function linkExists(host: HostCommands, device: string): Promise<boolean> {
  return host.attempt(['ip', 'link', 'show', 'dev', device]);
}

/** Makes the bridge exist and be up; true when it was created now. */
export async function ensureBridge(host: HostCommands, bridge: string): Promise<boolean> {
  const created = !(await linkExists(host, bridge));
  // No STP and no forwarding delay: a bridge with only taps and one uplink has no loops to detect, and a
  // delay would hold back a guest's first DHCP request.
  if (created) await host.run(['ip', 'link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await host.run(['ip', 'link', 'set', bridge, 'up']);
  return created;
}

/** Attaches the uplink to the bridge (creating the VLAN sub-interface); true when a device was created. */
export async function ensureUplink(host: HostCommands, bridge: string, uplink: Uplink): Promise<boolean> {
  if (!(await linkExists(host, uplink.physical))) {
    throw new Error(`physical interface ${uplink.physical} of bridge ${bridge} does not exist`);
  }
  await host.run(['ip', 'link', 'set', uplink.physical, 'up']);
  let created = false;
  if (uplink.vlan !== null && !(await linkExists(host, uplink.device))) {
    const id = String(uplink.vlan);
    await host.run(['ip', 'link', 'add', 'link', uplink.physical, 'name', uplink.device, 'type', 'vlan', 'id', id]);
    created = true;
  }
  await host.run(['ip', 'link', 'set', uplink.device, 'master', bridge, 'up']);
  return created;
}

/**
 * Makes the tap exist, joins it to the bridge with the network's MTU, up; true when it was created now.
 * The port is in hairpin mode: a guest's packet to its own floating IP comes back, translated by the host,
 * through the port it left by (as Nova sets it on Linux bridge ports); the guest's own broadcasts are
 * kept from coming back the same way by the rule set (nft-ruleset.ts).
 */
export async function ensureTap(host: HostCommands, tap: string, bridge: string, mtu: number): Promise<boolean> {
  const created = !(await linkExists(host, tap));
  if (created) await host.run(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  await host.run(['ip', 'link', 'set', tap, 'mtu', String(mtu), 'master', bridge, 'up']);
  await host.run(['ip', 'link', 'set', tap, 'type', 'bridge_slave', 'hairpin', 'on']);
  return created;
}

export async function addAddress(host: HostCommands, device: string, address: string): Promise<void> {
  await host.run(['ip', 'addr', 'replace', address, 'dev', device]);
}

export async function removeAddress(host: HostCommands, device: string, address: string): Promise<void> {
  await host.attempt(['ip', 'addr', 'del', address, 'dev', device]);
}

/** Deletes a device we created, or only takes one we found out of its bridge. */
export async function releaseLink(host: HostCommands, device: string, created: boolean): Promise<void> {
  if (created) await host.attempt(['ip', 'link', 'del', 'dev', device]);
  else await host.attempt(['ip', 'link', 'set', 'dev', device, 'nomaster']);
}
