/**
 * The datapath's nftables rules, rendered as whole tables from the host plan and loaded with one `nft -f`
 * (one transaction: a guest never sees half a rule set). Two tables, both named `stratus`:
 *
 * - `bridge stratus`, stateless, per tap: anti-spoofing on what a guest sends (its own MAC, its own fixed
 *   addresses, DHCP discovery from 0.0.0.0, no DHCP server or router advertisements of its own), and on
 *   what it receives (only IP packets addressed to it, broadcast or multicast, so a frame to its MAC
 *   cannot be judged by another port's rules). On the uplinks of tenant networks it drops DHCP and ARP for
 *   the gateway address: every host holds that address for its own guests (multi-host, as nova-network's
 *   share_dhcp_address did with ebtables).
 * - `inet stratus`, stateful (conntrack): security groups, chosen per port by (bridge, address) since
 *   anti-spoofing makes a port's address its identity on its network; project isolation of routed
 *   traffic; floating IP 1:1 NAT and the masquerade of outbound traffic; the redirect of guests'
 *   requests to 169.254.169.254:80 to the metadata proxy's listener of their network (metadata.ts), and
 *   nothing else reaching those listeners.
 *
 * Bridged traffic reaches the inet hooks through br_netfilter (bridge-nf-call-iptables): nftables' bridge
 * family has no conntrack unless the kernel has nf_conntrack_bridge, which stock kernels may lack.
 */
import { isIP } from 'node:net';
import type { VifSecurityRule } from '../../../wire/messages/network-info.ts';
import { PORT_PROTOCOLS, PROTOCOL_NUMBERS } from '../../../common/ip-protocols.ts';
import { PlanError, type HostPlan, type PlannedPort } from './host-plan.ts';
import { METADATA_ADDRESS, type MetadataRedirect } from './metadata.ts';

export const NFT_TABLE = 'stratus';

/**
 * The nft script that replaces both tables with what `plan` needs, or deletes them when it needs none;
 * `metadata` are the listeners of the metadata proxy guests' requests go to.
 */
export function renderRuleset(plan: HostPlan, metadata: readonly MetadataRedirect[] = []): string {
  const header = [
    `table bridge ${NFT_TABLE}`,
    `delete table bridge ${NFT_TABLE}`,
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
  ];
  if (plan.ports.length === 0) return `${header.join('\n')}\n`;
  return [...header, ...bridgeTable(plan), ...inetTable(plan, metadata)].join('\n') + '\n';
}

function name(device: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(device)) throw new PlanError(`'${device}' is not a usable interface name`);
  return `"${device}"`;
}

function address(value: string): string {
  const [ip, prefix, ...rest] = value.split('/');
  const version = isIP(ip ?? '');
  const maxPrefix = version === 4 ? 32 : 128;
  const okPrefix = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= maxPrefix);
  if (version === 0 || !okPrefix || rest.length > 0) throw new PlanError(`'${value}' is not an IP address or prefix`);
  return value;
}

function set(items: readonly string[]): string {
  return `{ ${items.join(', ')} }`;
}

function chainId(tap: string): string {
  return tap.replace(/[^A-Za-z0-9_]/g, '_');
}

function guarded(plan: HostPlan): PlannedPort[] {
  return plan.ports.filter((p) => p.portSecurity);
}

function bridgeTable(plan: HostPlan): string[] {
  const ports = guarded(plan);
  const isolated = plan.networks.filter((n) => !n.external && n.uplink !== null);
  const uplinks = [...new Set(isolated.map((n) => name(n.uplink!.device)))];
  const gateways = [
    ...new Set(isolated.flatMap((n) => n.dhcpSubnets.map((s) => address(s.gateway)).concat(gatewaysOf(n.addresses)))),
  ];
  const lines = [`table bridge ${NFT_TABLE} {`];
  lines.push('  chain prerouting {', '    type filter hook prerouting priority -200; policy accept;');
  lines.push(...outboundLimits(plan.ports));
  if (ports.length > 0) {
    lines.push(`    iifname vmap ${set(ports.map((p) => `${name(p.tap)} : jump from_${chainId(p.tap)}`))}`);
  }
  if (uplinks.length > 0 && gateways.length > 0) lines.push(`    iifname ${set(uplinks)} jump uplink`);
  lines.push('  }');
  lines.push('  chain postrouting {', '    type filter hook postrouting priority 200; policy accept;');
  // Taps are in hairpin mode (host-links.ts): what a guest floods must not come back to it (its own ARP
  // request, or IPv6 duplicate address detection's probe, heard back, says its address is taken).
  const echoes = plan.ports.map((p) => `${name(p.tap)} . ${p.mac}`);
  lines.push(`    oifname . ether saddr ${set(echoes)} meta pkttype { broadcast, multicast } drop`);
  if (ports.length > 0) {
    lines.push(`    oifname vmap ${set(ports.map((p) => `${name(p.tap)} : jump to_${chainId(p.tap)}`))}`);
  }
  if (uplinks.length > 0 && gateways.length > 0) lines.push(`    oifname ${set(uplinks)} jump uplink`);
  lines.push('  }');
  if (uplinks.length > 0 && gateways.length > 0) {
    lines.push(
      '  chain uplink {',
      `    arp daddr ip ${set(gateways)} drop`,
      `    arp saddr ip ${set(gateways)} drop`,
      '    udp dport { 67, 68 } drop',
      '  }',
    );
  }
  for (const port of ports) lines.push(...fromPort(port), ...toPort(port));
  lines.push('}');
  return lines;
}

/**
 * What a guest sends beyond its flavor's outbound average is dropped (libvirt polices it the same way);
 * the burst defaults to one second at the average, as libvirt's does.
 */
function outboundLimits(ports: readonly PlannedPort[]): string[] {
  return ports.flatMap((port) => {
    const outbound = port.qos?.outbound;
    if (!outbound) return [];
    const burst = Math.max(outbound.burstKB ?? outbound.averageKBps, 2);
    return [
      `    iifname ${name(port.tap)} limit rate over ${outbound.averageKBps} kbytes/second burst ${burst} kbytes drop`,
    ];
  });
}

function gatewaysOf(addresses: readonly string[]): string[] {
  return addresses.filter((a) => !a.endsWith('/32') && !a.includes(':')).map((a) => address(a.split('/')[0]!));
}

function fromPort(port: PlannedPort): string[] {
  const lines = [`  chain from_${chainId(port.tap)} {`, `    ether saddr != ${port.mac} drop`];
  lines.push(`    arp saddr ether != ${port.mac} drop`);
  lines.push(`    arp saddr ip != ${set(['0.0.0.0', ...port.ipv4.map(address)])} drop`);
  lines.push('    ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return');
  if (port.ipv4.length > 0) lines.push(`    ip saddr != ${set(port.ipv4.map(address))} drop`);
  else lines.push('    ether type ip drop');
  lines.push('    udp sport 67 drop');
  lines.push(`    ip6 saddr != ${set(['::', 'fe80::/10', ...port.ipv6.map(address)])} drop`);
  lines.push('    icmpv6 type nd-router-advert drop', '    udp sport 547 drop');
  lines.push('    ether type { ip, arp, ip6 } return', '    drop', '  }');
  return lines;
}

function toPort(port: PlannedPort): string[] {
  const lines = [`  chain to_${chainId(port.tap)} {`];
  lines.push(`    ip daddr != ${set(['255.255.255.255', '224.0.0.0/4', ...port.ipv4.map(address)])} drop`);
  lines.push('  }');
  return lines;
}

function port(value: number): string {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new PlanError(`'${value}' is not a TCP port`);
  return String(value);
}

function inetTable(plan: HostPlan, metadata: readonly MetadataRedirect[]): string[] {
  const tenant = plan.networks.filter((n) => !n.external);
  const tenantBridges = tenant.map((n) => name(n.bridge));
  const pairs = tenant.flatMap((a) =>
    tenant.filter((b) => b.projectId === a.projectId).map((b) => `${name(a.bridge)} . ${name(b.bridge)}`),
  );
  const ports = guarded(plan);
  const egressKeys = (family: 'ip' | 'ip6') =>
    ports.flatMap((p) =>
      (family === 'ip' ? p.ipv4 : p.ipv6).map(
        (ip) => `${name(p.bridge)} . ${address(ip)} : jump egress_${chainId(p.tap)}`,
      ),
    );
  const ingressKeys = (family: 'ip' | 'ip6') =>
    ports.flatMap((p) =>
      (family === 'ip' ? p.ipv4 : p.ipv6).map(
        (ip) => `${name(p.bridge)} . ${address(ip)} : jump ingress_${chainId(p.tap)}`,
      ),
    );
  const dispatch = (direction: 'egress' | 'ingress') => {
    const out: string[] = [];
    const dev = direction === 'egress' ? 'iifname' : 'oifname';
    const field = direction === 'egress' ? 'saddr' : 'daddr';
    for (const family of ['ip', 'ip6'] as const) {
      const keys = direction === 'egress' ? egressKeys(family) : ingressKeys(family);
      if (keys.length > 0) out.push(`    ${dev} . ${family} ${field} vmap ${set(keys)}`);
    }
    return out;
  };
  const lines = [`table inet ${NFT_TABLE} {`];
  const dnat = plan.floatingIps.map((f) => `    ip daddr ${address(f.floatingIp)} dnat ip to ${address(f.fixedIp)}`);
  // A guest's request to the metadata address goes to its network's proxy listener: the bridge it arrives
  // on (not an address, which networks may share) says which network, so which guest, it comes from.
  const metadataDnat = metadata.map(
    (m) =>
      `    iifname ${name(m.bridge)} ip daddr ${METADATA_ADDRESS} tcp dport 80 dnat ip to ${address(m.address)}:${port(m.port)}`,
  );
  lines.push(
    '  chain prerouting_nat {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...metadataDnat,
    ...dnat,
    '  }',
  );
  // The host itself reaches floating IPs (an operator testing from the host, as with devstack's br-ex).
  lines.push('  chain output_nat {', '    type nat hook output priority -100; policy accept;', ...dnat, '  }');
  lines.push('  chain postrouting_nat {', '    type nat hook postrouting priority srcnat; policy accept;');
  if (tenantBridges.length > 0) {
    for (const f of plan.floatingIps) {
      lines.push(
        `    iifname ${name(f.portBridge)} ip saddr ${address(f.fixedIp)} oifname != ${set(tenantBridges)} snat ip to ${address(f.floatingIp)}`,
        // Hairpin: a guest's packet to its own floating IP, sent back to it by the DNAT, would come from
        // its own address, which it drops as a spoof; it comes from the floating IP instead. The packet
        // is bridged back (br_netfilter's DNAT to the bridge it came from), so it has no input device here.
        `    oifname ${name(f.portBridge)} ip saddr ${address(f.fixedIp)} ip daddr ${address(f.fixedIp)} snat ip to ${address(f.floatingIp)}`,
      );
    }
    lines.push(`    iifname ${set(tenantBridges)} oifname != ${set(tenantBridges)} masquerade`);
  }
  lines.push('  }');
  lines.push('  chain forward {', '    type filter hook forward priority filter; policy accept;');
  lines.push('    ct state established,related accept', ...dispatch('egress'), ...dispatch('ingress'));
  if (tenantBridges.length > 0) {
    // Routed traffic into a tenant network: from the same project's networks, or a floating IP's.
    lines.push(`    oifname ${set(tenantBridges)} iifname . oifname ${set(pairs)} accept`);
    lines.push(`    oifname ${set(tenantBridges)} ct status dnat accept`);
    lines.push(`    oifname ${set(tenantBridges)} drop`);
  }
  lines.push('  }');
  lines.push('  chain input {', '    type filter hook input priority filter; policy accept;');
  lines.push('    ct state established,related accept');
  if (metadata.length > 0) {
    // A proxy listener is reached only by the redirect from its own network's bridge: a connection made to
    // it directly (from another network, the uplink, the host) would let its source address claim a guest.
    // Accepted before the security groups' egress rules: here they would see the rewritten address, not
    // the 169.254.169.254 a rule of theirs names.
    const keys = metadata.map((m) => `${name(m.bridge)} . ${address(m.address)} . ${port(m.port)}`);
    lines.push(
      `    iifname . ip daddr . tcp dport ${set(keys)} ct original ip daddr ${METADATA_ADDRESS} accept`,
      `    tcp dport ${set([...new Set(metadata.map((m) => port(m.port)))])} drop`,
    );
  }
  lines.push(...dispatch('egress'));
  if (tenantBridges.length > 0) {
    // Guests see the host as their DHCP server and a gateway that answers ping, nothing more: the
    // compute host's own services (and other networks' gateway addresses) are not theirs to reach.
    const ownGateways = tenant.flatMap((n) => gatewaysOf(n.addresses).map((gw) => `${name(n.bridge)} . ${gw}`));
    lines.push(`    iifname ${set(tenantBridges)} udp dport 67 accept`);
    // Neighbour discovery: without it an IPv6 guest cannot resolve its host's address on the link.
    lines.push(
      `    iifname ${set(tenantBridges)} icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept`,
    );
    if (ownGateways.length > 0) lines.push(`    iifname . ip daddr ${set(ownGateways)} icmp type echo-request accept`);
    lines.push(`    iifname ${set(tenantBridges)} drop`);
  }
  lines.push('  }');
  lines.push('  chain output {', '    type filter hook output priority filter; policy accept;');
  lines.push('    ct state established,related accept', '    udp sport 67 udp dport 68 accept');
  lines.push(...dispatch('ingress'), '  }');
  for (const port of ports) {
    lines.push(`  chain egress_${chainId(port.tap)} {`, ...ruleLines(port.rules, 'egress'), '    drop', '  }');
    lines.push(`  chain ingress_${chainId(port.tap)} {`, ...ruleLines(port.rules, 'ingress'), '    drop', '  }');
  }
  lines.push('}');
  return lines;
}

function ruleLines(rules: readonly VifSecurityRule[], direction: 'ingress' | 'egress'): string[] {
  return rules
    .filter((r) => r.direction === direction)
    .map((r) => ruleLine(r))
    .filter((line): line is string => line !== null)
    .map((line) => `    ${line}`);
}

/** One security group rule as an nft rule that returns (allows) what it matches; null if it matches nothing. */
function ruleLine(rule: VifSecurityRule): string | null {
  const v6 = rule.ethertype === 'IPv6';
  const parts = [`meta nfproto ${v6 ? 'ipv6' : 'ipv4'}`];
  if (rule.remote_prefixes !== null) {
    // Absent (a rule naming a remote group whose set this host lacks, which the plan never passes on):
    // nobody, never any address.
    const prefixes = (rule.remote_prefixes ?? []).filter((p) => p.includes(':') === v6).map(address);
    if (prefixes.length === 0) return null;
    const field = rule.direction === 'ingress' ? 'saddr' : 'daddr';
    parts.push(`${v6 ? 'ip6' : 'ip'} ${field} ${set(prefixes)}`);
  }
  if (rule.protocol !== null) {
    const protocol = protocolNumber(rule.protocol);
    if (protocol === null) return null;
    parts.push(`meta l4proto ${protocol}`);
    const min = rule.port_range_min;
    const max = rule.port_range_max;
    if (PORT_PROTOCOLS.has(protocol) && min !== null) {
      parts.push(`th dport ${max !== null && max !== min ? `${min}-${max}` : min}`);
    } else if ((protocol === 1 || protocol === 58) && min !== null) {
      const icmp = protocol === 1 ? 'icmp' : 'icmpv6';
      parts.push(`${icmp} type ${min}`);
      if (max !== null) parts.push(`${icmp} code ${max}`);
    }
  }
  return `${parts.join(' ')} return`;
}

function protocolNumber(protocol: string): number | null {
  const lower = protocol.toLowerCase();
  if (/^\d+$/.test(lower)) return Number(lower) <= 255 ? Number(lower) : null;
  return Object.hasOwn(PROTOCOL_NUMBERS, lower) ? PROTOCOL_NUMBERS[lower]! : null;
}
