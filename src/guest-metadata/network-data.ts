/**
 * network_data.json (Liberty and later) and the addresses EC2's meta-data shows, from a guest's VIFs, with
 * the keys and numbering of Nova's get_network_metadata: one link per VIF that has an address, then per
 * link its first IPv4 and first IPv6 subnet as networks `network0`, `network1`, ..., and the DNS servers
 * of all of them as services.
 *
 * Nova learns that a DHCP server serves a subnet from Neutron's DHCP port; Stratus's hosts serve DHCP on
 * every subnet with enable_dhcp (there is no DHCP port), so enable_dhcp plays that part: such a network is
 * `ipv4_dhcp`/`ipv6_dhcp` and its link carries no MTU (DHCP hands it out), as on Nova.
 */
import type { NetworkInfo, Vif, VifSubnet } from '../wire/messages/network-info.ts';
import { ipv4Netmask, ipv6Netmask, splitCidr } from './netmask.ts';

export interface NetworkDataLink {
  id: string;
  vif_id: string;
  type: string;
  mtu: number | null;
  ethernet_mac_address: string;
}

export interface NetworkDataRoute {
  network: string;
  netmask: string;
  gateway: string;
}

export interface NetworkDataService {
  type: 'dns';
  address: string;
}

export type NetworkDataNetwork =
  | { id: string; type: string; link: string; network_id: string }
  | {
      id: string;
      type: string;
      link: string;
      ip_address: string;
      netmask: string;
      routes: NetworkDataRoute[];
      network_id: string;
      services: NetworkDataService[];
    };

export interface NetworkData {
  links: NetworkDataLink[];
  networks: NetworkDataNetwork[];
  services: NetworkDataService[];
}

/** Stratus's VIFs plug into Linux bridges: Nova's vif type `bridge`, one it shows as the link's type. */
const VIF_TYPE = 'bridge';

/** null without any VIF (network_data.json is then `{}`), as Nova. */
export function networkData(networkInfo: NetworkInfo): NetworkData | null {
  if (!networkInfo.length) return null;
  const links: NetworkDataLink[] = [];
  const networks: NetworkDataNetwork[] = [];
  const services: NetworkDataService[] = [];
  let netNum = -1;
  for (const vif of networkInfo) {
    // Nova's VIF lists only the subnets the port has an address in.
    const subnets = vif.network.subnets.filter((s) => vif.fixed_ips.some((ip) => ip.subnet_id === s.id));
    if (!subnets.length) continue;
    const link: NetworkDataLink = {
      id: vif.devname,
      vif_id: vif.id,
      type: VIF_TYPE,
      mtu: subnets.some((s) => s.enable_dhcp) ? null : vif.network.mtu,
      ethernet_mac_address: vif.mac_address,
    };
    links.push(link);
    for (const version of [4, 6] as const) {
      const subnet = subnets.find((s) => s.ip_version === version);
      if (!subnet) continue;
      netNum += 1;
      networks.push(networkOf(vif, subnet, `network${netNum}`, link.id));
      for (const dns of dnsServices(subnet)) {
        if (!services.some((s) => s.address === dns.address)) services.push(dns);
      }
    }
  }
  return { links, networks, services };
}

function networkOf(vif: Vif, subnet: VifSubnet, id: string, link: string): NetworkDataNetwork {
  const version = subnet.ip_version;
  if (subnet.enable_dhcp) return { id, type: `ipv${version}_dhcp`, link, network_id: vif.network.id };
  const address = vif.fixed_ips.find((ip) => ip.subnet_id === subnet.id)!.ip_address;
  const prefix = Number(subnet.cidr.split('/')[1]);
  const anyNet = version === 4 ? '0.0.0.0' : '::';
  return {
    id,
    type: `ipv${version}`,
    link,
    ip_address: address,
    netmask: version === 4 ? ipv4Netmask(prefix) : ipv6Netmask(prefix),
    routes: [
      ...(subnet.gateway_ip ? [{ network: anyNet, netmask: anyNet, gateway: subnet.gateway_ip }] : []),
      ...subnet.host_routes.map((r) => ({ ...splitCidr(r.destination), gateway: r.nexthop })),
    ],
    network_id: vif.network.id,
    services: dnsServices(subnet),
  };
}

function dnsServices(subnet: VifSubnet): NetworkDataService[] {
  return subnet.dns_nameservers.map((address) => ({ type: 'dns', address }));
}

/** EC2's view of the addresses: the IPv4 fixed addresses and the floating ones, in NIC order. */
export function ec2Addresses(networkInfo: NetworkInfo): { fixedIpv4: string[]; floating: string[] } {
  const version = (vif: Vif, subnetId: string) => vif.network.subnets.find((s) => s.id === subnetId)?.ip_version;
  return {
    fixedIpv4: networkInfo.flatMap((vif) =>
      vif.fixed_ips.filter((ip) => version(vif, ip.subnet_id) === 4).map((ip) => ip.ip_address),
    ),
    floating: networkInfo.flatMap((vif) => vif.floating_ips.map((f) => f.floating_ip_address)),
  };
}
