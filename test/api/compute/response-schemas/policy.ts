/**
 * What Nova's default policy shows to admins only, which a schema cannot say (it does not know who
 * asked): in full server views the extended server attributes (OS-EXT-SRV-ATTR:*, except hostname from
 * 2.90, which everyone sees) and host_status (2.16); in instance action events the traceback and, from
 * 2.62, the host. An admin must get them, a member must not.
 */
import { atLeast, type Json } from './common.ts';
import { serverViews } from './extensions.ts';

const ATTRIBUTES = ['OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:instance_name', 'OS-EXT-SRV-ATTR:hypervisor_hostname'];
const ATTRIBUTES_2_3 = [
  'OS-EXT-SRV-ATTR:hostname',
  'OS-EXT-SRV-ATTR:kernel_id',
  'OS-EXT-SRV-ATTR:launch_index',
  'OS-EXT-SRV-ATTR:ramdisk_id',
  'OS-EXT-SRV-ATTR:reservation_id',
  'OS-EXT-SRV-ATTR:root_device_name',
  'OS-EXT-SRV-ATTR:user_data',
];

function adminOnlyServerKeys(version: string): string[] {
  const keys = [...ATTRIBUTES, ...(atLeast(version, '2.3') ? ATTRIBUTES_2_3 : [])];
  if (atLeast(version, '2.16')) keys.push('host_status');
  // From 2.90 everyone sees the hostname.
  return atLeast(version, '2.90') ? keys.filter((k) => k !== 'OS-EXT-SRV-ATTR:hostname') : keys;
}

function adminOnlyEventKeys(version: string): string[] {
  return atLeast(version, '2.62') ? ['traceback', 'host'] : ['traceback'];
}

function events(method: string, path: string, body: unknown): Json[] {
  if (method !== 'GET' || path !== '/servers/:id/os-instance-actions/:requestId') return [];
  const action = (body as Json | null)?.['instanceAction'] as Json | undefined;
  return (action?.['events'] as Json[] | undefined) ?? [];
}

/** The keys that are shown to the wrong caller or missing for the right one. */
export function policyProblems(
  isAdmin: boolean,
  method: string,
  path: string,
  version: string,
  body: unknown,
): string[] {
  const problems: string[] = [];
  const check = (what: string, objects: Json[], keys: string[]) => {
    objects.forEach((object, i) => {
      for (const key of keys) {
        if (isAdmin && !(key in object)) problems.push(`${what} ${i}: ${key} missing for an admin`);
        if (!isAdmin && key in object) problems.push(`${what} ${i}: ${key} shown to a member`);
      }
    });
  };
  check('server', serverViews(method, path, version, body).filter(Boolean), adminOnlyServerKeys(version));
  check('event', events(method, path, body), adminOnlyEventKeys(version));
  return problems;
}
