/**
 * A security group rule checked and put in canonical form the way Neutron does it before storing:
 * the protocol by name (lower case) or number, `any` meaning none; ports 0-65535 and a range that
 * covers every port dropped (it means "any port"); ICMP type/code 0-255; the remote prefix given a
 * prefix length and matched against the ethertype; one remote at most. The same canonical key decides
 * whether two rules are duplicates, so "tcp" and "6" cannot both be stored for one group.
 */
import { PORT_PROTOCOLS, PROTOCOL_NUMBERS } from '../common/ip-protocols.ts';
import { formatCidr, parseCidr } from './ip.ts';
import {
  InvalidCIDR,
  SecurityGroupEthertypeConflictWithProtocol,
  SecurityGroupInvalidIcmpValue,
  SecurityGroupInvalidPortRange,
  SecurityGroupInvalidPortValue,
  SecurityGroupInvalidProtocolForPort,
  SecurityGroupMissingIcmpType,
  SecurityGroupMultipleRemoteEntites,
  SecurityGroupProtocolRequiredWithPorts,
  SecurityGroupRuleInvalidEtherType,
  SecurityGroupRuleInvalidProtocol,
  SecurityGroupRuleParameterConflict,
} from './security-group-errors.ts';

const SUPPORTED = ['any', ...Object.keys(PROTOCOL_NUMBERS)];
/** Protocols with ports. */
const PORT_PROTOCOL_NAMES = 'DCCP, SCTP, TCP, UDP, UDPLITE';
/** Protocols that exist only on IPv6 (refused with ethertype IPv4). */
const IPV6_ONLY = new Set(['ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route']);
const IPV6_ONLY_NUMBERS = new Set(['41', '44', '58', '59', '60', '43']);

export type Direction = 'ingress' | 'egress';
export type Ethertype = 'IPv4' | 'IPv6';

export interface RuleInput {
  direction: Direction;
  ethertype?: unknown;
  protocol?: unknown;
  port_range_min?: unknown;
  port_range_max?: unknown;
  remote_ip_prefix?: unknown;
  remote_group_id?: string | null | undefined;
}

export interface CanonicalRule {
  direction: Direction;
  ethertype: Ethertype;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function convertProtocol(value: unknown): string | null {
  if (value === null || value === undefined || value === 'any') return null;
  const refuse = () =>
    new SecurityGroupRuleInvalidProtocol(
      `Security group rule protocol ${show(value)} not supported. Only protocol values ` +
        `[${[null, ...SUPPORTED].map((p) => (p === null ? 'None' : `'${p}'`)).join(', ')}] and integer ` +
        `representations [0 to 255] are supported.`,
    );
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 255) throw refuse();
    return String(n);
  }
  if (typeof value === 'string' && Object.hasOwn(PROTOCOL_NUMBERS, value.toLowerCase())) return value.toLowerCase();
  throw refuse();
}

function convertEthertype(value: unknown): Ethertype {
  if (value === undefined) return 'IPv4';
  if (typeof value === 'string') {
    if (value.toLowerCase() === 'ipv4') return 'IPv4';
    if (value.toLowerCase() === 'ipv6') return 'IPv6';
  }
  throw new SecurityGroupRuleInvalidEtherType(
    `Security group rule for ethertype '${show(value)}' not supported. Allowed values are ['IPv4', 'IPv6'].`,
  );
}

function convertPort(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535) return n;
  throw new SecurityGroupInvalidPortValue(`Invalid value for port ${show(value)}`);
}

/** `10.0.0.1` becomes `10.0.0.1/32`; host bits stay as given (normalized_cidr shows the network). */
function convertPrefix(value: unknown): { text: string; version: 4 | 6 } | null {
  if (value === null || value === undefined || value === '') return null;
  const cidr = typeof value === 'string' ? parseCidr(value) : null;
  if (!cidr || typeof value !== 'string') {
    throw new InvalidCIDR(`Invalid CIDR ${show(value)} given as IP prefix.`);
  }
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  return { text: `${address.toLowerCase()}/${cidr.prefix}`, version: cidr.version };
}

/** The protocol's number, or null for any. */
export function protocolNumber(protocol: string | null): number | null {
  if (protocol === null) return null;
  return /^\d+$/.test(protocol)
    ? Number(protocol)
    : Object.hasOwn(PROTOCOL_NUMBERS, protocol)
      ? PROTOCOL_NUMBERS[protocol]!
      : null;
}

export function canonicalRule(input: RuleInput): CanonicalRule {
  const ethertype = convertEthertype(input.ethertype);
  let protocol = convertProtocol(input.protocol);
  let min = convertPort(input.port_range_min);
  let max = convertPort(input.port_range_max);
  const prefix = convertPrefix(input.remote_ip_prefix);

  // Legacy spellings of ICMPv6 on an IPv6 rule become the canonical one, as Neutron stores them.
  if (ethertype === 'IPv6') {
    if (protocol === 'icmp' || protocol === 'icmpv6') protocol = 'ipv6-icmp';
    else if (protocol === '1') protocol = '58';
  }
  // The whole range means any port: stored without one, which the datapath matches more cheaply.
  if (min === 1 && max === 65535) [min, max] = [null, null];

  if (min !== null || max !== null) {
    if (protocol === null) {
      throw new SecurityGroupProtocolRequiredWithPorts('Must also specify protocol if port range is given.');
    }
    const number = protocolNumber(protocol);
    if (number !== null && PORT_PROTOCOLS.has(number)) {
      if (min === 0 || max === 0) throw new SecurityGroupInvalidPortValue('Invalid value for port 0');
      if (min === null || max === null || min > max) {
        throw new SecurityGroupInvalidPortRange('For TCP/UDP protocols, port_range_min must be <= port_range_max');
      }
    } else if (number === 1 || number === 58) {
      for (const [value, attr, field] of [
        [min, 'port_range_min', 'type'],
        [max, 'port_range_max', 'code'],
      ] as const) {
        if (value !== null && (value < 0 || value > 255)) {
          throw new SecurityGroupInvalidIcmpValue(
            `Invalid value for ICMP ${field} (${attr}) ${value}. It must be 0 to 255.`,
          );
        }
      }
      if (min === null && max !== null) {
        throw new SecurityGroupMissingIcmpType(
          `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`,
        );
      }
    } else {
      throw new SecurityGroupInvalidProtocolForPort(
        `Ports cannot be specified for protocol ${number ?? protocol}. Ports are only supported for ${PORT_PROTOCOL_NAMES}.`,
      );
    }
  }

  if (prefix && ethertype !== `IPv${prefix.version}`) {
    throw new SecurityGroupRuleParameterConflict(
      `Conflicting value ethertype ${ethertype} for CIDR ${show(input.remote_ip_prefix)}`,
    );
  }
  if (protocol !== null && ethertype === 'IPv4' && (IPV6_ONLY.has(protocol) || IPV6_ONLY_NUMBERS.has(protocol))) {
    throw new SecurityGroupEthertypeConflictWithProtocol(`Invalid ethertype ${ethertype} for protocol ${protocol}.`);
  }
  const remoteGroup = input.remote_group_id ?? null;
  if (prefix && remoteGroup) {
    throw new SecurityGroupMultipleRemoteEntites(
      'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.',
    );
  }
  return {
    direction: input.direction,
    ethertype,
    protocol,
    port_range_min: min,
    port_range_max: max,
    remote_ip_prefix: prefix?.text ?? null,
    remote_group_id: remoteGroup,
  };
}

/** The network of a remote prefix (Neutron's normalized_cidr): `10.0.0.5/24` gives `10.0.0.0/24`. */
export function normalizedCidr(prefix: string | null): string | null {
  if (prefix === null) return null;
  const cidr = parseCidr(prefix);
  return cidr ? formatCidr(cidr) : null;
}

/**
 * What makes two rules of one group the same rule (Neutron's _rule_to_key): a protocol by name or by
 * number, and "any address" however it is written, compare equal.
 */
export function ruleKey(rule: CanonicalRule): string {
  const anyAddress = rule.remote_ip_prefix === null || /^(0\.0\.0\.0|::)\/0$/.test(rule.remote_ip_prefix);
  const prefix = anyAddress ? '+' : rule.remote_ip_prefix;
  return JSON.stringify([
    rule.direction,
    rule.ethertype,
    rule.port_range_min,
    rule.port_range_max,
    protocolNumber(rule.protocol),
    rule.remote_group_id,
    prefix,
  ]);
}
