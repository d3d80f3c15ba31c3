/**
 * The address layout of a subnet, checked as Neutron checks it: the CIDR, its gateway, the allocation
 * pools (defaulted around the gateway), DNS servers (ordered, at most five) and host routes (at most
 * twenty). Pure: the caller passes what it read and writes what this returns.
 */
import { declareError, StratusError } from '../common/errors.ts';
import { invalidAttribute, invalidInput } from './errors.ts';
import {
  canonicalIp,
  cidrContains,
  defaultPools,
  formatCidr,
  formatIp,
  formatRange,
  lastAddress,
  parseCidr,
  parseIp,
  type Cidr,
  type IpRange,
  type IpVersion,
} from './ip.ts';

export const MAX_DNS_NAMESERVERS = 5;
export const MAX_HOST_ROUTES = 20;

const InvalidAllocationPool = declareError(
  class InvalidAllocationPool extends StratusError {
    override readonly status = 400;
  },
);
const OutOfBoundsAllocationPool = declareError(
  class OutOfBoundsAllocationPool extends StratusError {
    override readonly status = 400;
  },
);
const OverlappingAllocationPools = declareError(
  class OverlappingAllocationPools extends StratusError {
    override readonly status = 409;
  },
);
const GatewayConflictWithAllocationPools = declareError(
  class GatewayConflictWithAllocationPools extends StratusError {
    override readonly status = 409;
  },
);
const DNSNameServersExhausted = declareError(
  class DNSNameServersExhausted extends StratusError {
    override readonly status = 400;
  },
);
const HostRoutesExhausted = declareError(
  class HostRoutesExhausted extends StratusError {
    override readonly status = 400;
  },
);

export interface PoolText {
  start: string;
  end: string;
}
export interface RouteText {
  destination: string;
  nexthop: string;
}

/** A subnet's CIDR from the request: valid, of the stated version, no host bits, not /0. */
export function checkCidr(text: string, ipVersion: IpVersion): Cidr {
  const cidr = parseCidr(text);
  if (!cidr || !text.includes('/')) throw invalidAttribute('cidr', `'${text}' is not a valid IP subnet`);
  if (cidr.hostBitsSet) {
    throw invalidAttribute('cidr', `'${text}' isn't a recommended CIDR, '${formatCidr(cidr)}' is recommended`);
  }
  if (cidr.version !== ipVersion) {
    throw invalidInput(`cidr '${text}' does not match the ip_version '${ipVersion}'`);
  }
  if (cidr.prefix === 0) throw invalidInput('0 is not allowed as CIDR prefix length');
  return cidr;
}

/**
 * The gateway: the first address of the CIDR when not given, none when given as null. A gateway may
 * lie outside the CIDR (Neutron allows it) but never on its network or broadcast address.
 */
export function resolveGateway(cidr: Cidr, given: string | null | undefined): bigint | null {
  if (given === null) return null;
  if (given === undefined) {
    const first = cidr.network + 1n;
    return first <= lastAddress(cidr) ? first : null;
  }
  const ip = parseIp(given);
  if (!ip) throw invalidAttribute('gateway_ip', `'${given}' is not a valid IP address`);
  if (ip.version !== cidr.version) {
    throw invalidInput(`gateway_ip '${given}' does not match the ip_version '${cidr.version}'`);
  }
  const onEdge = ip.value === cidr.network || (cidr.version === 4 && ip.value === lastAddress(cidr));
  if (onEdge && cidr.prefix < (cidr.version === 4 ? 31 : 127)) throw invalidInput('Gateway is not valid on subnet');
  return ip.value;
}

/** The pools given (checked) or Neutron's default ones around the gateway. */
export function resolvePools(cidr: Cidr, gateway: bigint | null, given: PoolText[] | undefined): IpRange[] {
  if (given === undefined) return defaultPools(cidr, gateway);
  const pools = given.map((p) => {
    const start = parseIp(p.start);
    const end = parseIp(p.end);
    const text = `${p.start}-${p.end}`;
    if (!start || !end || start.version !== cidr.version || end.version !== cidr.version || start.value > end.value) {
      throw new InvalidAllocationPool(`The allocation pool ${text} is not valid.`);
    }
    const range: IpRange = { version: cidr.version, first: start.value, last: end.value };
    const usable = defaultPools(cidr, null)[0];
    if (!usable || range.first < usable.first || range.last > usable.last) {
      throw new OutOfBoundsAllocationPool(
        `The allocation pool ${formatRange(range)} spans beyond the subnet cidr ${formatCidr(cidr)}.`,
      );
    }
    return range;
  });
  const sorted = [...pools].sort((a, b) => (a.first < b.first ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.first <= sorted[i - 1]!.last) {
      throw new OverlappingAllocationPools(
        `Found overlapping allocation pools: ${formatRange(sorted[i - 1]!)} ${formatRange(sorted[i]!)} ` +
          `for subnet ${formatCidr(cidr)}.`,
      );
    }
  }
  checkGatewayOutsidePools(cidr.version, gateway, pools);
  return pools;
}

export function checkGatewayOutsidePools(version: IpVersion, gateway: bigint | null, pools: IpRange[]): void {
  if (gateway === null) return;
  const hit = pools.find((p) => gateway >= p.first && gateway <= p.last);
  if (hit) {
    throw new GatewayConflictWithAllocationPools(
      `Gateway ip ${formatIp({ version, value: gateway })} conflicts with allocation pool ${formatRange(hit)}.`,
    );
  }
}

/** DNS servers in the order given, canonical, without repeats. */
export function checkNameservers(subnetRef: string, given: string[], version: IpVersion): string[] {
  if (given.length > MAX_DNS_NAMESERVERS) {
    throw new DNSNameServersExhausted(
      `Unable to complete operation for ${subnetRef}. The number of DNS nameservers exceeds the limit ${MAX_DNS_NAMESERVERS}.`,
    );
  }
  const seen = new Set<string>();
  return given.map((text) => {
    const ip = typeof text === 'string' ? parseIp(text) : null;
    if (!ip) throw invalidAttribute('dns_nameservers', `'${String(text)}' is not a valid nameserver`);
    if (ip.version !== version) {
      throw invalidInput(`dns_nameservers '${text}' does not match the ip_version '${version}'`);
    }
    const canonical = formatIp(ip);
    if (seen.has(canonical)) throw invalidAttribute('dns_nameservers', `Duplicate nameserver '${text}'`);
    seen.add(canonical);
    return canonical;
  });
}

export function checkHostRoutes(subnetRef: string, given: RouteText[], version: IpVersion): RouteText[] {
  if (given.length > MAX_HOST_ROUTES) {
    throw new HostRoutesExhausted(
      `Unable to complete operation for ${subnetRef}. The number of host routes exceeds the limit ${MAX_HOST_ROUTES}.`,
    );
  }
  const seen = new Set<string>();
  return given.map((route) => {
    const shown = JSON.stringify(route);
    if (typeof route !== 'object' || route === null || typeof route.destination !== 'string') {
      throw invalidAttribute('host_routes', `Invalid data format for hostroute: '${shown}'`);
    }
    const destination = parseCidr(route.destination);
    const nexthop = typeof route.nexthop === 'string' ? canonicalIp(route.nexthop) : null;
    if (!destination || !nexthop)
      throw invalidAttribute('host_routes', `Invalid data format for hostroute: '${shown}'`);
    if (destination.version !== version || parseIp(nexthop)!.version !== version) {
      throw invalidInput(`host_routes '${shown}' does not match the ip_version '${version}'`);
    }
    const canonical = { destination: formatCidr(destination), nexthop };
    const key = `${canonical.destination} ${canonical.nexthop}`;
    if (seen.has(key)) throw invalidAttribute('host_routes', `Duplicate hostroute '${shown}'`);
    seen.add(key);
    return canonical;
  });
}

/** Whether an address of the subnet can go to a port: inside the CIDR, not its network or broadcast address. */
export function isAssignable(cidr: Cidr, value: bigint): boolean {
  if (!cidrContains(cidr, { version: cidr.version, value })) return false;
  if (cidr.version === 4 && cidr.prefix < 31) return value !== cidr.network && value !== lastAddress(cidr);
  if (cidr.version === 6 && cidr.prefix < 127) return value !== cidr.network;
  return true;
}
