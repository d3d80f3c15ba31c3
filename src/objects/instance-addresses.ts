/**
 * The IP addresses of instances, per network, as Nova's network info cache shows them: the one source of
 * a server's `addresses`, of GET /servers/{id}/ips and of the `ip`/`ip6` list filters. They are read from
 * the ports bound to the instance (device_id), so what the API shows is what the network holds.
 *
 * Nova's order: networks as the NICs (in the guest's order) first reach them; under each, the fixed
 * addresses of its NICs, then the floating addresses mapped to them.
 */
import type { Db } from '../common/db/database.ts';

export interface InstanceAddress {
  network: string;
  addr: string;
  version: 4 | 6;
  type: 'fixed' | 'floating';
  mac: string;
}

/** instance uuid -> its addresses; one query for the whole set (a page of a list). */
export async function addressesOfInstances(db: Db, uuids: readonly string[]): Promise<Map<string, InstanceAddress[]>> {
  const result = new Map<string, InstanceAddress[]>();
  if (!uuids.length) return result;
  const rows = await db
    .selectFrom('ports as p')
    .innerJoin('ip_allocations as a', 'a.port_id', 'p.id')
    .innerJoin('networks as n', 'n.id', 'p.network_id')
    .leftJoin('instance_networks as i', (join) =>
      join.onRef('i.port_id', '=', 'p.id').onRef('i.instance_uuid', '=', 'p.device_id'),
    )
    .leftJoin('floating_ips as f', (join) =>
      join.onRef('f.fixed_port_id', '=', 'p.id').onRef('f.fixed_ip_address', '=', 'a.ip_address'),
    )
    .select([
      'p.device_id as uuid',
      'p.id as port_id',
      'p.mac_address as mac',
      'p.created_at as port_created',
      'n.name as network',
      'a.ip_address as fixed',
      'f.floating_ip_address as floating',
      'i.position as position',
    ])
    .where('p.device_id', 'in', [...uuids])
    .execute();
  // NIC order: the recorded position, then (for a port the instance got otherwise) its creation time.
  rows.sort(
    (x, y) =>
      (x.position ?? Number.MAX_SAFE_INTEGER) - (y.position ?? Number.MAX_SAFE_INTEGER) ||
      String(x.port_created).localeCompare(String(y.port_created)) ||
      x.port_id.localeCompare(y.port_id) ||
      compareAddresses(x.fixed, y.fixed),
  );
  const fixed = new Map<string, InstanceAddress[]>();
  const floating = new Map<string, InstanceAddress[]>();
  const seenFixed = new Set<string>();
  for (const row of rows) {
    const fixedKey = `${row.port_id} ${row.fixed}`;
    if (!seenFixed.has(fixedKey)) {
      seenFixed.add(fixedKey);
      push(fixed, row.uuid, {
        network: row.network,
        addr: row.fixed,
        version: versionOf(row.fixed),
        type: 'fixed',
        mac: row.mac,
      });
    }
    if (row.floating) {
      const address = row.floating;
      push(floating, row.uuid, {
        network: row.network,
        addr: address,
        version: versionOf(address),
        type: 'floating',
        mac: row.mac,
      });
    }
  }
  // Per network, Nova lists the fixed addresses first, then the floating ones.
  for (const [uuid, list] of fixed) result.set(uuid, [...list, ...(floating.get(uuid) ?? [])]);
  return result;
}

/** The addresses of one instance. */
export async function instanceAddresses(db: Db, uuid: string): Promise<InstanceAddress[]> {
  return (await addressesOfInstances(db, [uuid])).get(uuid) ?? [];
}

function push(map: Map<string, InstanceAddress[]>, uuid: string, address: InstanceAddress): void {
  const list = map.get(uuid);
  if (list) list.push(address);
  else map.set(uuid, [address]);
}

function versionOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function compareAddresses(a: string, b: string): number {
  return versionOf(a) - versionOf(b) || a.localeCompare(b, 'en', { numeric: true });
}

/**
 * The instances with a fixed address that matches the pattern of its family (Nova's `ip`/`ip6`
 * filters: Python's re.match, anchored at the start). One query over the servers' addresses.
 */
export async function instancesMatchingAddress(
  db: Db,
  patterns: { readonly ip?: RegExp; readonly ip6?: RegExp },
): Promise<string[]> {
  const rows = await db
    .selectFrom('ports as p')
    .innerJoin('ip_allocations as a', 'a.port_id', 'p.id')
    .select(['p.device_id as uuid', 'a.ip_address as addr'])
    .where('p.device_owner', 'like', 'compute:%')
    .execute();
  const matching = new Set<string>();
  for (const row of rows) {
    const pattern = versionOf(row.addr) === 4 ? patterns.ip : patterns.ip6;
    if (pattern?.test(row.addr)) matching.add(row.uuid);
  }
  return [...matching];
}
