/**
 * A router's extra routes (Neutron's extraroute): each destination a CIDR, each next hop an address in
 * one of the subnets the router is attached to and not one of the router's own addresses.
 */
import type { Transaction } from 'kysely';
import type { Schema } from '../common/db/schema.ts';
import { cidrContains, formatCidr, formatIp, parseCidr, parseIp } from './ip.ts';
import { InvalidRoutes } from './l3-errors.ts';
import { routerPortAddresses, routerSubnets } from './router-topology.ts';

export interface Route {
  destination: string;
  nexthop: string;
}

/** Neutron's [DEFAULT] max_routes. */
export const MAX_ROUTES = 30;

function invalid(routes: unknown, reason: string): Error {
  return new InvalidRoutes(`Invalid format for routes: ${JSON.stringify(routes)}, ${reason}`);
}

/** The routes in canonical form, checked against what the router is attached to. */
export async function checkRoutes(trx: Transaction<Schema>, routerId: string, routes: Route[]): Promise<Route[]> {
  if (routes.length > MAX_ROUTES) throw invalid(routes, `the number of routes exceeds the maximum ${MAX_ROUTES}`);
  const subnets = (await routerSubnets(trx, routerId)).map((s) => parseCidr(s.cidr)!);
  const own = new Set((await routerPortAddresses(trx, routerId)).map((a) => a.ip_address));
  const out: Route[] = [];
  for (const route of routes) {
    const destination = typeof route?.destination === 'string' ? parseCidr(route.destination) : null;
    const nexthop = typeof route?.nexthop === 'string' ? parseIp(route.nexthop) : null;
    if (!destination || !nexthop) throw invalid(route, 'the destination or the nexthop is not valid');
    const canonical = { destination: formatCidr(destination), nexthop: formatIp(nexthop) };
    if (own.has(canonical.nexthop)) throw invalid(route, 'the nexthop is used by router');
    if (!subnets.some((s) => cidrContains(s, nexthop)))
      throw invalid(route, 'the nexthop is not connected with router');
    if (!out.some((r) => r.destination === canonical.destination && r.nexthop === canonical.nexthop))
      out.push(canonical);
  }
  return out;
}
