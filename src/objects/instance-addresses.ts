/**
 * The IP addresses of an instance, per network, as Nova keeps them in its network info cache: the one
 * source of a server's `addresses` in the API and of the `ip`/`ip6` list filters. Stratus has no
 * networking yet, so every instance has none: the view shows `{}` and an address filter matches no
 * server. When networking records ports, this is the function that reads them.
 */
import type { InstancesTable } from '../common/db/schema.ts';

export interface InstanceAddress {
  network: string;
  addr: string;
  version: 4 | 6;
  type: 'fixed' | 'floating';
  mac: string;
}

export function instanceAddresses(_instance: Pick<InstancesTable, 'uuid'>): readonly InstanceAddress[] {
  return [];
}

/** Whether a fixed address of the instance matches the pattern of its family (Python's re.match: anchored at the start). */
export function matchesAddressFilter(
  instance: Pick<InstancesTable, 'uuid'>,
  patterns: { readonly ip?: RegExp; readonly ip6?: RegExp },
): boolean {
  return instanceAddresses(instance).some(
    (a) =>
      a.type === 'fixed' &&
      ((a.version === 4 && patterns.ip?.test(a.addr) === true) ||
        (a.version === 6 && patterns.ip6?.test(a.addr) === true)),
  );
}
