/**
 * OS-DCF:diskConfig (Nova's auto_disk_config) and the access addresses, as Nova takes them on create and
 * update. diskConfig AUTO asks for the guest's root partition to be grown to the disk; without one a new
 * server follows its image's `auto_disk_config` property, and an image whose property is "disabled"
 * refuses AUTO. Stratus records and shows the choice; its drivers resize no guest filesystem (Nova's
 * libvirt driver does for AUTO), so both boot alike. The access addresses are stored as the canonical text of the address, as Nova's IP address
 * fields store them (an IPv6 address compressed and lowercase), so they read back the same however the
 * client wrote them.
 */
import { BadRequest } from '../../../common/errors.ts';
import type { ImageSummary } from '../image-lookup.ts';

export type DiskConfig = 'AUTO' | 'MANUAL';

/** The stored flag of a diskConfig the request gave (undefined: none given). */
export function autoDiskConfig(asked: DiskConfig | undefined): boolean | undefined {
  return asked === undefined ? undefined : asked === 'AUTO';
}

const TRUE_STRINGS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);

/** A new server's flag: what was asked, checked against the image, or else what the image says. */
export function newServerAutoDiskConfig(asked: DiskConfig | undefined, image: ImageSummary): boolean {
  const fromImage = image.properties['auto_disk_config'];
  const imageValue = typeof fromImage === 'string' ? fromImage.trim().toLowerCase() : undefined;
  if (asked === 'AUTO' && imageValue === 'disabled') {
    throw new BadRequest(`Requested image ${image.id} has automatic disk resize disabled.`);
  }
  if (asked !== undefined) return asked === 'AUTO';
  return imageValue !== undefined && TRUE_STRINGS.has(imageValue);
}

export function diskConfigView(autoDiskConfigFlag: number | boolean): DiskConfig {
  return autoDiskConfigFlag ? 'AUTO' : 'MANUAL';
}

/**
 * The canonical text of an IPv6 address (RFC 5952: lowercase, no leading zeros, the longest run of zero
 * groups as ::); an IPv4-mapped address is written ::ffff:a.b.c.d, as Nova shows it. The schema has
 * already checked that it is an IPv6 address.
 */
export function canonicalIpv6(address: string): string {
  // WHATWG URL parsing serialises an IPv6 host in exactly the RFC 5952 form (dotted quads as hex).
  const host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!mapped) return host;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return `::ffff:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
