/**
 * IPv4 and IPv6 addresses and CIDRs as numbers (bigint), so ranges, containment and overlap are plain
 * arithmetic for both families. Addresses are stored in canonical text form (formatIp): the unique key
 * of ip_allocations compares text, so "10.0.0.05" and "10.0.0.5" must never both reach it.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpVersion = 4 | 6;

export interface Ip {
  version: IpVersion;
  value: bigint;
}

export interface Cidr {
  version: IpVersion;
  /** The network address (host bits zero). */
  network: bigint;
  prefix: number;
}

export const bitsOf = (version: IpVersion): number => (version === 4 ? 32 : 128);

/** Parses an address; null when it is not one (leading zeros in IPv4 octets are refused, as netaddr does). */
export function parseIp(text: string): Ip | null {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    return { version: 4, value };
  }
  if (!isIPv6(text) || text.includes('%')) return null;
  return { version: 6, value: parseIpv6(text) };
}

function parseIpv6(text: string): bigint {
  let groups: string[];
  const embeddedV4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let source = text;
  if (embeddedV4) {
    const v4 = parseIp(embeddedV4[1]!)!.value;
    source = text.slice(0, -embeddedV4[1]!.length) + `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = source.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  if (tail === undefined) groups = headGroups;
  else {
    const tailGroups = tail === '' ? [] : tail.split(':');
    groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
export function formatIp(ip: Ip): string {
  if (ip.version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The canonical form of an address text, or null when it is not an address. */
export function canonicalIp(text: string): string | null {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : null;
}

/** Parses `address/prefix`; `strict` refuses host bits (Neutron's subnet CIDR check). */
export function parseCidr(text: string): (Cidr & { hostBitsSet: boolean }) | null {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return null;
  const bits = bitsOf(ip.version);
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > bits) return null;
  const network = ip.value & netmask(ip.version, prefix);
  return { version: ip.version, network, prefix, hostBitsSet: network !== ip.value };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ version: cidr.version, value: cidr.network })}/${cidr.prefix}`;
}

function netmask(version: IpVersion, prefix: number): bigint {
  const bits = BigInt(bitsOf(version));
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** The last address of the CIDR (the broadcast address of an IPv4 one). */
export function lastAddress(cidr: Cidr): bigint {
  return cidr.network | ((1n << BigInt(bitsOf(cidr.version) - cidr.prefix)) - 1n);
}

export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  return ip.version === cidr.version && ip.value >= cidr.network && ip.value <= lastAddress(cidr);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/** An inclusive range of addresses (an allocation pool). */
export interface IpRange {
  version: IpVersion;
  first: bigint;
  last: bigint;
}

export function formatRange(range: IpRange): string {
  const v = range.version;
  return `${formatIp({ version: v, value: range.first })}-${formatIp({ version: v, value: range.last })}`;
}

/**
 * Neutron's default allocation pools: the whole CIDR but the network address, the last address (IPv4's
 * broadcast; on IPv6 too, except /127 and /128 where every address is usable) and the gateway, which
 * splits the range in two when it lies inside.
 */
export function defaultPools(cidr: Cidr, gateway: bigint | null): IpRange[] {
  const v = cidr.version;
  const last = lastAddress(cidr);
  if (cidr.network === last) return [{ version: v, first: last, last }];
  const first = cidr.network + 1n;
  const end = v === 4 || cidr.prefix < 127 ? last - 1n : last;
  if (first > end) return [];
  if (gateway === null || gateway < first || gateway > end) return [{ version: v, first, last: end }];
  const pools: IpRange[] = [];
  if (gateway > first) pools.push({ version: v, first, last: gateway - 1n });
  if (gateway < end) pools.push({ version: v, first: gateway + 1n, last: end });
  return pools;
}
