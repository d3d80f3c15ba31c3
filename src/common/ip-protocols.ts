/**
 * The IP protocols a security group rule may name, as Neutron accepts them (neutron-lib's protocol map):
 * shared by the network service, which validates and stores rules, and the compute host's datapath,
 * which turns them into firewall rules — one table, so a name accepted by one is understood by the other.
 */

/** IANA protocol numbers of the names Neutron accepts; a rule may also give the number itself. */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  ah: 51,
  dccp: 33,
  egp: 8,
  esp: 50,
  gre: 47,
  hopopt: 0,
  icmp: 1,
  igmp: 2,
  ip: 0,
  ipip: 4,
  'ipv6-encap': 41,
  'ipv6-frag': 44,
  'ipv6-icmp': 58,
  icmpv6: 58,
  'ipv6-nonxt': 59,
  'ipv6-opts': 60,
  'ipv6-route': 43,
  ospf: 89,
  pgm: 113,
  rsvp: 46,
  sctp: 132,
  tcp: 6,
  udp: 17,
  udplite: 136,
  vrrp: 112,
};

/** The protocols whose port_range_min/max are transport ports: DCCP, SCTP, TCP, UDP, UDP-Lite. */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([33, 132, 6, 17, 136]);
