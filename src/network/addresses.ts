/**
 * The little address arithmetic port allocation needs: IPv4 and IPv6 addresses as bigints, their
 * canonical text (the form ip_allocations stores, so one address has one key), and CIDR containment.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Address {
  version: 4 | 6;
  value: bigint;
}

/** Parses an IPv4 or IPv6 address; null when it is neither. */
export function parseAddress(text: string): Address | null {
  if (isIPv4(text)) {
    return { version: 4, value: text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n) };
  }
  if (!isIPv6(text) || text.includes('%') || text.includes('.')) return null;
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return { version: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** The canonical text of an address: dotted quad, or RFC 5952's compressed lower-case IPv6. */
export function formatAddress({ version, value }: Address): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of two or more zero groups becomes '::' (the first such run on a tie).
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

/** The canonical text of `text`, or null when it is not an address. */
export function canonicalAddress(text: string): string | null {
  const parsed = parseAddress(text);
  return parsed ? formatAddress(parsed) : null;
}

/** Whether `address` lies in `cidr` (network/prefix). */
export function cidrContains(cidr: string, address: Address): boolean {
  const [base, prefixText] = cidr.split('/');
  const network = parseAddress(base ?? '');
  if (!network || network.version !== address.version) return false;
  const bits = address.version === 4 ? 32n : 128n;
  const hostBits = bits - BigInt(Number(prefixText));
  return network.value >> hostBits === address.value >> hostBits;
}
