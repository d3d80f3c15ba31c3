/**
 * Which instance a metadata request comes from, as Nova's metadata handler decides it:
 * - `[neutron] service_metadata_proxy` on: the proxy in front of the guests names it in X-Instance-ID and
 *   proves it with X-Instance-ID-Signature, the hex HMAC-SHA256 of the id keyed with
 *   `metadata_proxy_shared_secret` (a guest cannot forge it: it does not know the secret), plus
 *   X-Tenant-ID, which must be the instance's project, and X-Forwarded-For, the guest's address, which
 *   must be one of the instance's fixed IPs;
 * - off: the request's source address is the guest's fixed IP (the datapath forwards without NAT).
 * A request that names nothing gets 400, a bad signature 403, and anything that does not lead to exactly
 * one live instance 404, with nothing in the answer saying which check failed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { BadRequest, Forbidden } from '../../common/errors.ts';

/** A request's identity claim: the instance it names (or the address to look up) and what to check. */
export type Claim =
  { kind: 'instance'; instanceId: string; tenantId: string; address: string } | { kind: 'address'; address: string };

export interface IdentifyOptions {
  serviceMetadataProxy: boolean;
  sharedSecret: string;
}

/** The hex signature a proxy sends for `instanceId`. */
export function signInstanceId(secret: string, instanceId: string): string {
  return createHmac('sha256', secret).update(instanceId, 'utf8').digest('hex');
}

export function identify(headers: IncomingHttpHeaders, remoteAddress: string, options: IdentifyOptions): Claim {
  if (!options.serviceMetadataProxy) return { kind: 'address', address: unmapped(remoteAddress) };
  const instanceId = single(headers, 'x-instance-id');
  const signature = single(headers, 'x-instance-id-signature');
  const tenantId = single(headers, 'x-tenant-id');
  const forwarded = headers['x-forwarded-for'];
  if (instanceId === undefined) throw new BadRequest('X-Instance-ID header is missing from request.');
  if (signature === undefined) throw new BadRequest('X-Instance-ID-Signature header is missing from request.');
  if (tenantId === undefined) throw new BadRequest('X-Tenant-ID header is missing from request.');
  if (instanceId === null) throw new BadRequest('Multiple X-Instance-ID headers found within request.');
  if (tenantId === null) throw new BadRequest('Multiple X-Tenant-ID headers found within request.');
  if (forwarded === undefined) throw new BadRequest('X-Forwarded-For is missing from request.');
  const expected = Buffer.from(signInstanceId(options.sharedSecret, instanceId));
  const given = Buffer.from(signature ?? '');
  // Constant time, so that the answer's timing says nothing of how much of a forged signature was right.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new Forbidden('Invalid proxy request signature.');
  }
  // A chain of proxies appends itself: the first address is the guest's.
  const address = (Array.isArray(forwarded) ? forwarded[0]! : forwarded).split(',')[0]!.trim();
  return { kind: 'instance', instanceId, tenantId, address };
}

/** The header's one value; null when it came more than once (Node joins repeats with ', '). */
function single(headers: IncomingHttpHeaders, name: string): string | null | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value) || value.includes(',')) return null;
  return value;
}

/** `::ffff:10.0.0.5` (an IPv4 peer of a dual-stack socket) as `10.0.0.5`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
