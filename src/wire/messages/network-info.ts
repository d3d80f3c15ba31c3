/**
 * A guest's network interfaces as its compute host receives them (Nova's network_info: one VIF per port).
 * Compute hosts have no database, so the network service resolves everything the datapath needs before the
 * message leaves: the network's bridge and segment, the subnets' DHCP options, the port's addresses and
 * the security group rules. A rule naming a remote group carries either the group's member addresses
 * (expanded by the sender) or, from Vif 1.2, only the group's id: the host then takes the addresses from
 * its own set of the group (compute/network/member-sets.ts), asking the conductor for the set if it has
 * none, so a build no longer carries every member of its `default` group.
 *
 * The names of host devices follow Neutron's Linux bridge agent, so an operator finds them where they
 * expect: bridge `brq` + the first 11 characters of the network id, tap `tap` + the first 11 of the port
 * id (Linux allows 15 characters in an interface name).
 */
import { Type, type Static } from 'typebox';
import { definePayload } from '../payload.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const HostRouteSchema = Type.Object(
  { destination: Type.String(), nexthop: Type.String() },
  { additionalProperties: false },
);

export const VifSubnetSchema = Type.Object(
  {
    id: Type.String(),
    cidr: Type.String(),
    ip_version: Type.Union([Type.Literal(4), Type.Literal(6)]),
    gateway_ip: Nullable(Type.String()),
    dns_nameservers: Type.Array(Type.String()),
    host_routes: Type.Array(HostRouteSchema),
    enable_dhcp: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const VifNetworkSchema = Type.Object(
  {
    id: Type.String(),
    /** The network's name: the key of the server's `addresses`. */
    label: Type.String(),
    project_id: Type.String(),
    /** The host bridge the network's taps join: `brq` + id[:11]. */
    bridge: Type.String(),
    network_type: Type.Union([Type.Literal('flat'), Type.Literal('vlan'), Type.Literal('local')]),
    /** The operator's name for the host interface that carries the network (`[network] physical_interface_mappings`). */
    physical_network: Nullable(Type.String()),
    /** The VLAN id of a vlan network. */
    segmentation_id: Nullable(Type.Integer({ minimum: 1, maximum: 4094 })),
    mtu: Type.Integer({ minimum: 68 }),
    /** `router:external`: floating IPs are taken from it and the host routes to it. */
    external: Type.Boolean(),
    subnets: Type.Array(VifSubnetSchema),
  },
  { additionalProperties: false },
);

export const VifFixedIpSchema = Type.Object(
  { subnet_id: Type.String(), ip_address: Type.String() },
  { additionalProperties: false },
);

export const VifFloatingIpSchema = Type.Object(
  {
    id: Type.String(),
    floating_ip_address: Type.String(),
    /** The fixed address of this port the floating IP maps to (1:1 NAT on the guest's host). */
    fixed_ip_address: Type.String(),
    /** The external network the floating IP belongs to (the host routes its subnet through that bridge). */
    floating_network: VifNetworkSchema,
  },
  { additionalProperties: false },
);

/**
 * One rule of a port's security groups, stateful, as Neutron stores it. Either `remote_prefixes` is
 * present (the peers, expanded by the sender) or the rule names `remote_group_id` and leaves the
 * addresses to the host (Vif 1.2): the `anyOf` below refuses a rule with neither, so a missing list is
 * never read as "any address" (which `null` says) or as "nobody".
 */
export const VifSecurityRuleSchema = Type.Object(
  {
    direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')]),
    ethertype: Type.Union([Type.Literal('IPv4'), Type.Literal('IPv6')]),
    /** A protocol name (tcp, udp, icmp, ...) or number as a string; null for any. */
    protocol: Nullable(Type.String()),
    /** For tcp/udp the port range; for icmp the type (min) and code (max). Null for any. */
    port_range_min: Nullable(Type.Integer()),
    port_range_max: Nullable(Type.Integer()),
    /**
     * The peers the rule admits: the rule's remote_ip_prefix as one CIDR, the addresses of the remote
     * group's ports as host prefixes, or null for any address. Vif 1.2: absent on a rule naming a remote
     * group the sender did not expand (the host's set of `remote_group_id` says who).
     */
    remote_prefixes: Type.Optional(Nullable(Type.Array(Type.String()))),
    /**
     * Vif 1.1: the remote group `remote_prefixes` expands, so that a host told the group's members
     * changed (compute 1.12 security_group_members_changed) expands it again itself.
     */
    remote_group_id: Type.Optional(Type.String()),
  },
  {
    additionalProperties: false,
    anyOf: [{ required: ['remote_prefixes'] }, { required: ['remote_group_id'] }],
  },
);

/** A rule naming a remote group whose addresses its host takes from its own set of the group (Vif 1.2). */
export function isUnexpanded(rule: VifSecurityRule): boolean {
  return rule.remote_prefixes === undefined;
}

/**
 * A versioned payload (see payload.ts). Its revisions, with the contract versions that carry each, go here.
 */
export const VifShape = definePayload(
  'Vif',
  {
    /** The port's id. */
    id: Type.String(),
    mac_address: Type.String({ pattern: '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$' }),
    /** The tap device on the host: `tap` + id[:11]. */
    devname: Type.String({ maxLength: 15 }),
    network: VifNetworkSchema,
    fixed_ips: Type.Array(VifFixedIpSchema),
    floating_ips: Type.Array(VifFloatingIpSchema),
    /** Off: no anti-spoofing and no security groups on this port (Neutron's port_security_enabled). */
    port_security_enabled: Type.Boolean(),
    security_group_rules: Type.Array(VifSecurityRuleSchema),
  },
  [
    {
      version: '1.1',
      carriedBy: { compute: '1.12' },
      // An older host cannot follow a group's members: it keeps the expansion it was sent, and its
      // sender tells it of member changes with network_info_changed instead.
      backport: ({ security_group_rules, ...rest }) => ({
        ...rest,
        security_group_rules: (security_group_rules as Record<string, unknown>[]).map(
          ({ remote_group_id: _remoteGroup, ...rule }) => rule,
        ),
      }),
    },
    {
      version: '1.2',
      carriedBy: { compute: '1.14' },
      // A rule may name its remote group without the addresses (its host keeps the group's set). An
      // older host reads a rule's addresses only from the message, and this payload has no database to
      // expand them from: the sender must build it expanded for such hosts (network/network-info.ts,
      // `remoteGroupsFor`). Sending it anyway would make the host refuse it or, worse, admit nobody.
      backport: (vif) => {
        const rules = vif['security_group_rules'] as Record<string, unknown>[];
        const unexpanded = rules.filter((rule) => rule['remote_prefixes'] === undefined);
        if (unexpanded.length > 0) {
          throw new Error(
            `Cannot send port ${String(vif['id'])} to a host that reads Vif 1.1 (compute before 1.14): ` +
              `${unexpanded.length} of its rules name a remote group without its addresses, and only the ` +
              `network service can expand them; build its NetworkInfo with remote groups expanded for such ` +
              `hosts (remoteGroupsFor the compute client's cap)`,
          );
        }
        return vif;
      },
    },
  ],
);
export const VifSchema = VifShape.schema;

export type Vif = Static<typeof VifSchema>;
export type VifNetwork = Static<typeof VifNetworkSchema>;
export type VifSubnet = Static<typeof VifSubnetSchema>;
export type VifSecurityRule = Static<typeof VifSecurityRuleSchema>;

/** A guest's interfaces, in the order the guest sees its NICs. */
export const NetworkInfoSchema = Type.Array(VifSchema);
export type NetworkInfo = Static<typeof NetworkInfoSchema>;

/** Neutron's Linux bridge names: `brq` + the network id's first 11 characters. */
export function bridgeName(networkId: string): string {
  return `brq${networkId.slice(0, 11)}`;
}

/** Neutron's tap names: `tap` + the port id's first 11 characters. */
export function tapName(portId: string): string {
  return `tap${portId.slice(0, 11)}`;
}
