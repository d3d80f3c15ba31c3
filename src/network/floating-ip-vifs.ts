/**
 * A port's floating IPs in the shape its compute host receives (VifFloatingIp): the floating address,
 * the fixed address it maps to and the external network it belongs to, which the host needs to route
 * and answer for the address. The external network's wire shape is built by whoever builds the rest
 * of the port's network info (`networkOf`), so there is one builder of VifNetwork.
 */
import type { Static } from 'typebox';
import type { Db } from '../common/db/database.ts';
import { VifFloatingIpSchema, type VifNetwork } from '../wire/messages/network-info.ts';

export type VifFloatingIp = Static<typeof VifFloatingIpSchema>;

export async function portFloatingIps(
  db: Db,
  portId: string,
  networkOf: (networkId: string) => Promise<VifNetwork>,
): Promise<VifFloatingIp[]> {
  const rows = await db
    .selectFrom('floating_ips')
    .select(['id', 'floating_ip_address', 'fixed_ip_address', 'floating_network_id'])
    .where('fixed_port_id', '=', portId)
    .orderBy('floating_ip_address')
    .execute();
  const networks = new Map<string, VifNetwork>();
  const out: VifFloatingIp[] = [];
  for (const row of rows) {
    if (!row.fixed_ip_address) continue;
    let network = networks.get(row.floating_network_id);
    if (!network) {
      network = await networkOf(row.floating_network_id);
      networks.set(row.floating_network_id, network);
    }
    out.push({
      id: row.id,
      floating_ip_address: row.floating_ip_address,
      fixed_ip_address: row.fixed_ip_address,
      floating_network: network,
    });
  }
  return out;
}
