/** MAC addresses: Neutron's default base (fa:16:3e) with three random octets, and validation. */
import { randomBytes } from 'node:crypto';

export const MAC_BASE = 'fa:16:3e';

export function generateMac(): string {
  return [MAC_BASE, ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** The canonical (lower case, colon separated) form of a unicast MAC address, or null. */
export function canonicalMac(text: string): string | null {
  const m =
    /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text);
  if (!m) return null;
  const mac = m.slice(1).join(':').toLowerCase();
  // Neutron refuses multicast (low bit of the first octet) and the all-zero address.
  if ((parseInt(m[1]!, 16) & 1) === 1 || mac === '00:00:00:00:00:00') return null;
  return mac;
}
