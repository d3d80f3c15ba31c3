/**
 * What a router connects, read from its ports: the subnets of its interfaces and of its gateway's
 * network. Used to refuse overlapping attachments, to check extra routes' next hops, and to find the
 * router through which a floating IP reaches a fixed address (Stratus has no router namespace: the
 * router records that a project subnet is attached to an external network, which is what lets that
 * network's floating IPs reach the subnet's ports; the datapath does the NAT on the guest's host).
 */
import type { Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import type { Schema, SubnetsTable } from '../common/db/schema.ts';
import { badRequest } from './errors.ts';
import { cidrsOverlap, parseCidr } from './ip.ts';

export const ROUTER_INTERFACE = 'network:router_interface';
export const ROUTER_GATEWAY = 'network:router_gateway';

type Reader = Db | Transaction<Schema>;

export interface RouterPortAddress {
  port_id: string;
  port_type: string;
  network_id: string;
  subnet_id: string;
  ip_address: string;
}

/** Every address of the router's ports (interfaces and gateway), with the port's network. */
export async function routerPortAddresses(db: Reader, routerId: string): Promise<RouterPortAddress[]> {
  return db
    .selectFrom('router_ports as rp')
    .innerJoin('ports as p', 'p.id', 'rp.port_id')
    .innerJoin('ip_allocations as a', 'a.port_id', 'rp.port_id')
    .select(['rp.port_id', 'rp.port_type', 'p.network_id', 'a.subnet_id', 'a.ip_address'])
    .where('rp.router_id', '=', routerId)
    .execute();
}

/** The subnets the router is attached to: its interfaces' subnets and every subnet of its gateway network. */
export async function routerSubnets(db: Reader, routerId: string): Promise<SubnetsTable[]> {
  const addresses = await routerPortAddresses(db, routerId);
  const interfaceSubnets = addresses.filter((a) => a.port_type !== ROUTER_GATEWAY).map((a) => a.subnet_id);
  const gatewayNetworks = addresses.filter((a) => a.port_type === ROUTER_GATEWAY).map((a) => a.network_id);
  if (interfaceSubnets.length === 0 && gatewayNetworks.length === 0) return [];
  return db
    .selectFrom('subnets')
    .selectAll()
    .where((eb) =>
      eb.or([
        ...(interfaceSubnets.length ? [eb('id', 'in', interfaceSubnets)] : []),
        ...(gatewayNetworks.length ? [eb('network_id', 'in', gatewayNetworks)] : []),
      ]),
    )
    .execute();
}

/**
 * Refuses to attach `incoming` subnets the router already has, or whose CIDRs overlap one it has: a
 * router could not tell which side an address is on.
 */
export async function checkNoOverlap(db: Reader, routerId: string, incoming: SubnetsTable[]): Promise<void> {
  const current = await routerSubnets(db, routerId);
  const addresses = await routerPortAddresses(db, routerId);
  for (const subnet of incoming) {
    if (addresses.some((a) => a.subnet_id === subnet.id)) {
      throw badRequest('router', `Router already has a port on subnet ${subnet.id}`);
    }
    const cidr = parseCidr(subnet.cidr)!;
    for (const other of current) {
      if (other.id !== subnet.id && cidrsOverlap(cidr, parseCidr(other.cidr)!)) {
        throw badRequest(
          'router',
          `Cidr ${subnet.cidr} of subnet ${subnet.id} overlaps with cidr ${other.cidr} of subnet ${other.id}`,
        );
      }
    }
  }
}

/**
 * The router through which `externalNetworkId` reaches `subnet`: one with an interface on the subnet
 * and its gateway on that network; the one holding the subnet's gateway address first, as Neutron
 * prefers. Null when there is none.
 */
export async function routerReaching(
  db: Reader,
  subnet: Pick<SubnetsTable, 'id' | 'gateway_ip'>,
  externalNetworkId: string,
): Promise<string | null> {
  const rows = await db
    .selectFrom('router_ports as rp')
    .innerJoin('ip_allocations as a', 'a.port_id', 'rp.port_id')
    .innerJoin('routers as r', 'r.id', 'rp.router_id')
    .innerJoin('ports as gw', 'gw.id', 'r.gw_port_id')
    .select(['rp.router_id', 'a.ip_address'])
    .where('rp.port_type', '=', ROUTER_INTERFACE)
    .where('a.subnet_id', '=', subnet.id)
    .where('gw.network_id', '=', externalNetworkId)
    .orderBy('rp.router_id')
    .execute();
  return (rows.find((r) => r.ip_address === subnet.gateway_ip) ?? rows[0])?.router_id ?? null;
}
