/** Netmasks as netaddr prints them (Nova's network_data.json): dotted quads, or compact IPv6. */

/** `24` -> `255.255.255.0`. */
export function ipv4Netmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (bits >>> shift) & 0xff).join('.');
}

/** `64` -> `ffff:ffff:ffff:ffff::`. */
export function ipv6Netmask(prefix: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    groups.push(bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff);
  }
  return compactIpv6(groups);
}

/** The network address of `cidr` and its netmask. */
export function splitCidr(cidr: string): { network: string; netmask: string } {
  const [address = '', length = ''] = cidr.split('/');
  const prefix = Number(length);
  if (address.includes(':')) {
    const mask = ipv6Groups(ipv6Netmask(prefix));
    return { network: compactIpv6(ipv6Groups(address).map((g, i) => g & mask[i]!)), netmask: ipv6Netmask(prefix) };
  }
  const mask = ipv4Netmask(prefix).split('.').map(Number);
  const network = address.split('.').map((octet, i) => Number(octet) & mask[i]!);
  return { network: network.join('.'), netmask: ipv4Netmask(prefix) };
}

function ipv6Groups(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** RFC 5952 form: the longest run of two or more zero groups becomes `::`. */
function compactIpv6(groups: readonly number[]): string {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.length < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
