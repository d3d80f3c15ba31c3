/**
 * What the host must carry for a set of guest ports: the pure half of the Linux bridge driver. Every other
 * module of the driver turns a part of this plan into host state (links, dnsmasq, nftables, tc), so the
 * whole datapath follows from the ports alone and a restart can rebuild it.
 */
import { vifQos, type VifQos } from '../../../common/flavor-quota-specs.ts';
import type { GroupMembers } from '../../../wire/contracts/compute.ts';
import type { Vif, VifNetwork, VifSecurityRule } from '../../../wire/messages/network-info.ts';
import { expandRemoteGroups } from '../member-sets.ts';
import type { GuestPorts } from '../network-driver.ts';

/** The host interface a network's bridge is attached to. */
export interface Uplink {
  /** The mapped physical interface. */
  physical: string;
  /** The device enslaved to the bridge: the physical interface, or its VLAN sub-interface. */
  device: string;
  vlan: number | null;
}

/** A DHCP-served subnet of a network: this host answers from the gateway address. */
export interface DhcpSubnet {
  tag: string;
  cidr: string;
  gateway: string;
  dnsServers: readonly string[];
  /** Option 121: the subnet's host routes plus the default route (a client that reads 121 ignores option 3). */
  routes: readonly { destination: string; nexthop: string }[];
}

export interface PlannedNetwork {
  id: string;
  bridge: string;
  projectId: string;
  external: boolean;
  mtu: number;
  uplink: Uplink | null;
  /** Addresses the host holds on the bridge, as address/prefix: subnet gateways, floating IPs (/32). */
  addresses: string[];
  /** The IPv4 subnets of tenant traffic that leaves the host masqueraded. */
  ipv4Cidrs: string[];
  dhcpSubnets: DhcpSubnet[];
  /** Static DHCP entries of this host's ports on the network. */
  dhcpHosts: { mac: string; ip: string }[];
  /** The host's IPv4 address on the bridge that guests' metadata requests are redirected to; null: none. */
  metadataAddress: string | null;
}

export interface PlannedPort {
  id: string;
  instanceUuid: string;
  projectId: string;
  tap: string;
  bridge: string;
  mac: string;
  ipv4: string[];
  ipv6: string[];
  portSecurity: boolean;
  /** The port's security group rules, those naming a remote group expanded to the group's set. */
  rules: readonly VifSecurityRule[];
  qos: VifQos | null;
}

/** A floating IP: 1:1 NAT to a fixed address of a port on this host. */
export interface PlannedFloatingIp {
  floatingIp: string;
  fixedIp: string;
  /** The bridge of the port's own network (its fixed address is only unique there). */
  portBridge: string;
  externalBridge: string;
}

export interface HostPlan {
  networks: PlannedNetwork[];
  ports: PlannedPort[];
  floatingIps: PlannedFloatingIp[];
}

export class PlanError extends Error {}

/**
 * `members`: the sets of the remote groups the ports' rules name (a rule naming a group without a set
 * keeps the addresses it came with, or admits nobody if it came without).
 */
export function planHost(
  guests: readonly GuestPorts[],
  mappings: ReadonlyMap<string, string>,
  members: ReadonlyMap<string, GroupMembers> = new Map(),
): HostPlan {
  const networks = new Map<string, PlannedNetwork>();
  const ports: PlannedPort[] = [];
  const floatingIps: PlannedFloatingIp[] = [];
  const network = (vifNetwork: VifNetwork) => {
    const known = networks.get(vifNetwork.id);
    if (known) return known;
    const planned = planNetwork(vifNetwork, mappings);
    networks.set(vifNetwork.id, planned);
    return planned;
  };
  for (const guest of guests) {
    const qos = vifQos(guest.extraSpecs);
    for (const vif of guest.vifs) {
      const home = network(vif.network);
      ports.push(
        planPort(
          guest,
          expandRemoteGroups(vif, (id) => members.get(id)),
          qos,
        ),
      );
      for (const fixed of vif.fixed_ips) {
        if (home.dhcpSubnets.some((s) => s.tag === subnetTag(vif.network, fixed.subnet_id))) {
          home.dhcpHosts.push({ mac: vif.mac_address, ip: fixed.ip_address });
        }
      }
      for (const floating of vif.floating_ips) {
        const external = network(floating.floating_network);
        external.addresses.push(`${floating.floating_ip_address}/32`);
        floatingIps.push({
          floatingIp: floating.floating_ip_address,
          fixedIp: floating.fixed_ip_address,
          portBridge: home.bridge,
          externalBridge: external.bridge,
        });
      }
    }
  }
  const taps = new Set<string>();
  for (const port of ports) {
    if (taps.has(port.tap)) throw new PlanError(`two ports of this host would use the device ${port.tap}`);
    taps.add(port.tap);
  }
  return { networks: [...networks.values()], ports, floatingIps };
}

function subnetTag(network: VifNetwork, subnetId: string): string {
  return `s${network.subnets.findIndex((s) => s.id === subnetId)}`;
}

function planNetwork(network: VifNetwork, mappings: ReadonlyMap<string, string>): PlannedNetwork {
  const addresses: string[] = [];
  const dhcpSubnets: DhcpSubnet[] = [];
  const ipv4Cidrs: string[] = [];
  network.subnets.forEach((subnet, index) => {
    if (subnet.ip_version === 4) ipv4Cidrs.push(subnet.cidr);
    if (subnet.gateway_ip === null) return;
    addresses.push(`${subnet.gateway_ip}/${subnet.cidr.split('/')[1]}`);
    if (!subnet.enable_dhcp || subnet.ip_version !== 4) return;
    dhcpSubnets.push({
      tag: `s${index}`,
      cidr: subnet.cidr,
      gateway: subnet.gateway_ip,
      dnsServers: subnet.dns_nameservers,
      routes: [...subnet.host_routes, { destination: '0.0.0.0/0', nexthop: subnet.gateway_ip }],
    });
  });
  return {
    id: network.id,
    bridge: network.bridge,
    projectId: network.project_id,
    external: network.external,
    mtu: network.mtu,
    uplink: planUplink(network, mappings),
    addresses,
    ipv4Cidrs,
    dhcpSubnets,
    dhcpHosts: [],
    metadataAddress: network.subnets.find((s) => s.ip_version === 4 && s.gateway_ip !== null)?.gateway_ip ?? null,
  };
}

function planUplink(network: VifNetwork, mappings: ReadonlyMap<string, string>): Uplink | null {
  if (network.network_type === 'local') return null;
  const physnet = network.physical_network;
  const physical = physnet === null ? undefined : mappings.get(physnet);
  if (physical === undefined) {
    throw new PlanError(
      `network ${network.id}: physical network '${physnet ?? ''}' is not in [linux_bridge] physical_interface_mappings`,
    );
  }
  if (network.network_type === 'flat') return { physical, device: physical, vlan: null };
  const vlan = network.segmentation_id;
  if (vlan === null) throw new PlanError(`network ${network.id}: a vlan network without a segmentation id`);
  const device = `${physical}.${vlan}`;
  if (device.length > 15) throw new PlanError(`network ${network.id}: VLAN device name ${device} is too long`);
  return { physical, device, vlan };
}

function planPort(guest: GuestPorts, vif: Vif, qos: VifQos | null): PlannedPort {
  const ips = vif.fixed_ips.map((f) => f.ip_address);
  return {
    id: vif.id,
    instanceUuid: guest.instanceUuid,
    projectId: guest.projectId,
    tap: vif.devname,
    bridge: vif.network.bridge,
    mac: vif.mac_address,
    ipv4: ips.filter((ip) => !ip.includes(':')),
    ipv6: ips.filter((ip) => ip.includes(':')),
    portSecurity: vif.port_security_enabled,
    rules: vif.security_group_rules,
    qos,
  };
}
