/** VIFs for tests: a port on a flat network with one IPv4 subnet, the shape a compute host receives. */
import { randomUUID } from 'node:crypto';
import { tapName, bridgeName, VifShape, type Vif } from '../../src/wire/messages/network-info.ts';

export interface TestVifOptions {
  id?: string;
  mac?: string;
  /** The tap device; by default Neutron's name for the port. */
  devname?: string;
  networkId?: string;
  cidr?: string;
  ip?: string;
}

export function testVif(options: TestVifOptions = {}): Vif {
  const id = options.id ?? randomUUID();
  const networkId = options.networkId ?? randomUUID();
  const subnetId = randomUUID();
  const cidr = options.cidr ?? '10.0.0.0/24';
  const ip = options.ip ?? '10.0.0.5';
  return VifShape.build({
    id,
    mac_address: options.mac ?? 'fa:16:3e:00:00:05',
    devname: options.devname ?? tapName(id),
    network: {
      id: networkId,
      label: 'private',
      project_id: 'project',
      bridge: bridgeName(networkId),
      network_type: 'flat',
      physical_network: null,
      segmentation_id: null,
      mtu: 1500,
      external: false,
      subnets: [
        {
          id: subnetId,
          cidr,
          ip_version: 4,
          gateway_ip: null,
          dns_nameservers: [],
          host_routes: [],
          enable_dhcp: true,
        },
      ],
    },
    fixed_ips: [{ subnet_id: subnetId, ip_address: ip }],
    floating_ips: [],
    port_security_enabled: false,
    security_group_rules: [],
  });
}

/** A port with security whose one IPv4 ingress rule admits the members of `groupId`, expanded to `prefixes`. */
export function watchingVif(groupId: string, prefixes: string[] = []): Vif {
  return VifShape.build({
    ...testVif(),
    port_security_enabled: true,
    security_group_rules: [
      {
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: null,
        port_range_min: null,
        port_range_max: null,
        remote_prefixes: prefixes,
        remote_group_id: groupId,
      },
    ],
  });
}

/** A port with security whose one IPv4 ingress rule names `groupId` without its addresses (Vif 1.2). */
export function namingVif(groupId: string): Vif {
  const { remote_prefixes: _prefixes, ...rule } = watchingVif(groupId).security_group_rules[0]!;
  return VifShape.build({ ...testVif(), port_security_enabled: true, security_group_rules: [rule] });
}
