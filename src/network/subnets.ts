/**
 * Subnets: create, read, update and delete on a network, with Neutron's checks (subnet-layout.ts), no
 * two overlapping CIDRs on one network (the network row is locked while one is added, so two racing
 * creates cannot both pass), and deletion refused while ports hold addresses from it.
 */
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { lockRows } from '../common/db/row-locks.ts';
import { now, type SubnetsTable } from '../common/db/schema.ts';
import type { Transaction } from 'kysely';
import type { Schema } from '../common/db/schema.ts';
import { canSeeNetwork, requireNetworkPolicy } from './access.ts';
import { invalidInput, networkNotFound, SubnetInUse, subnetNotFound } from './errors.ts';
import { cidrsOverlap, formatCidr, formatIp, parseCidr, parseIp, type Cidr, type IpVersion } from './ip.ts';
import { AUTO_DELETE_PORT_OWNERS, touchNetwork } from './networks.ts';
import { checkQuota } from './quotas.ts';
import { standardAttributes } from './standard-attributes.ts';
import {
  checkCidr,
  checkGatewayOutsidePools,
  checkHostRoutes,
  checkNameservers,
  resolveGateway,
  resolvePools,
  type PoolText,
  type RouteText,
} from './subnet-layout.ts';
import { inTransaction } from './transaction.ts';

export const IPV6_MODES = ['slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'] as const;

export interface SubnetRecord {
  id: string;
  name: string;
  tenant_id: string;
  project_id: string;
  network_id: string;
  ip_version: number;
  subnetpool_id: null;
  enable_dhcp: boolean;
  ipv6_ra_mode: string | null;
  ipv6_address_mode: string | null;
  gateway_ip: string | null;
  cidr: string;
  allocation_pools: PoolText[];
  host_routes: RouteText[];
  dns_nameservers: string[];
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface SubnetCreate {
  project_id: string;
  network_id: string;
  ip_version: IpVersion;
  cidr: string;
  name?: string;
  description?: string;
  gateway_ip?: string | null;
  allocation_pools?: PoolText[];
  dns_nameservers?: string[];
  host_routes?: RouteText[];
  enable_dhcp?: boolean;
  ipv6_ra_mode?: string | null;
  ipv6_address_mode?: string | null;
}

export type SubnetUpdate = Partial<
  Pick<
    SubnetCreate,
    'name' | 'description' | 'gateway_ip' | 'allocation_pools' | 'dns_nameservers' | 'host_routes' | 'enable_dhcp'
  >
>;

export async function createSubnet(db: Db, ctx: RequestContext, request: SubnetCreate): Promise<SubnetRecord> {
  const cidr = checkCidr(request.cidr, request.ip_version);
  if (request.ip_version === 4 && (request.ipv6_ra_mode || request.ipv6_address_mode)) {
    throw invalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when ip_version is 4');
  }
  const gateway = resolveGateway(cidr, request.gateway_ip);
  const pools = resolvePools(cidr, gateway, request.allocation_pools);
  const id = randomUUID();
  const dns = checkNameservers(id, request.dns_nameservers ?? [], cidr.version);
  const routes = checkHostRoutes(id, request.host_routes ?? [], cidr.version);
  const stamp = now();
  const row: SubnetsTable = {
    id,
    project_id: request.project_id,
    network_id: request.network_id,
    name: request.name ?? '',
    description: request.description ?? '',
    ip_version: cidr.version,
    cidr: formatCidr(cidr),
    gateway_ip: gateway === null ? null : formatIp({ version: cidr.version, value: gateway }),
    enable_dhcp: request.enable_dhcp === false ? 0 : 1,
    ipv6_ra_mode: request.ipv6_ra_mode ?? null,
    ipv6_address_mode: request.ipv6_address_mode ?? null,
    revision_number: 1,
    created_at: stamp,
    updated_at: stamp,
  };
  await inTransaction(db, async (trx) => {
    const network = await lockRows(
      trx,
      trx.selectFrom('networks').selectAll().where('id', '=', request.network_id),
    ).executeTakeFirst();
    if (!network || !canSeeNetwork(ctx, network)) throw networkNotFound(request.network_id);
    requireNetworkPolicy(ctx, 'create_subnet', { project_id: network.project_id });
    const siblings = await trx
      .selectFrom('subnets')
      .select('cidr')
      .where('network_id', '=', request.network_id)
      .execute();
    if (siblings.some((s) => cidrsOverlap(parseCidr(s.cidr)!, cidr))) {
      throw invalidInput(
        `Requested subnet with cidr: ${row.cidr} for network: ${request.network_id} overlaps with another subnet`,
      );
    }
    await checkQuota(trx, request.project_id, 'subnet', 1);
    await trx.insertInto('subnets').values(row).execute();
    await writeChildren(trx, id, cidr.version, { pools, dns, routes });
    await touchNetwork(trx, request.network_id);
  });
  return (await subnetRecords(db, [row]))[0]!;
}

async function writeChildren(
  trx: Transaction<Schema>,
  subnetId: string,
  version: IpVersion,
  parts: { pools?: { first: bigint; last: bigint }[]; dns?: string[]; routes?: RouteText[] },
): Promise<void> {
  if (parts.pools) {
    await trx.deleteFrom('subnet_allocation_pools').where('subnet_id', '=', subnetId).execute();
    if (parts.pools.length > 0) {
      await trx
        .insertInto('subnet_allocation_pools')
        .values(
          parts.pools.map((p) => ({
            subnet_id: subnetId,
            first_ip: formatIp({ version, value: p.first }),
            last_ip: formatIp({ version, value: p.last }),
          })),
        )
        .execute();
    }
  }
  if (parts.dns) {
    await trx.deleteFrom('subnet_dns_nameservers').where('subnet_id', '=', subnetId).execute();
    if (parts.dns.length > 0) {
      await trx
        .insertInto('subnet_dns_nameservers')
        .values(parts.dns.map((address, position) => ({ subnet_id: subnetId, address, position })))
        .execute();
    }
  }
  if (parts.routes) {
    await trx.deleteFrom('subnet_host_routes').where('subnet_id', '=', subnetId).execute();
    if (parts.routes.length > 0) {
      await trx
        .insertInto('subnet_host_routes')
        .values(parts.routes.map((r) => ({ subnet_id: subnetId, ...r })))
        .execute();
    }
  }
}

/** Subnet rows with their pools, DNS servers and routes, as Neutron shows them. */
export async function subnetRecords(db: Db, rows: SubnetsTable[]): Promise<SubnetRecord[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [pools, dns, routes] = await Promise.all([
    db.selectFrom('subnet_allocation_pools').selectAll().where('subnet_id', 'in', ids).execute(),
    db.selectFrom('subnet_dns_nameservers').selectAll().where('subnet_id', 'in', ids).orderBy('position').execute(),
    db.selectFrom('subnet_host_routes').selectAll().where('subnet_id', 'in', ids).execute(),
  ]);
  const byIp = (a: string, b: string) => {
    const [x, y] = [parseIp(a)!.value, parseIp(b)!.value];
    return x < y ? -1 : x > y ? 1 : 0;
  };
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    tenant_id: row.project_id,
    project_id: row.project_id,
    network_id: row.network_id,
    ip_version: row.ip_version,
    subnetpool_id: null,
    enable_dhcp: row.enable_dhcp === 1,
    ipv6_ra_mode: row.ipv6_ra_mode,
    ipv6_address_mode: row.ipv6_address_mode,
    gateway_ip: row.gateway_ip,
    cidr: row.cidr,
    allocation_pools: pools
      .filter((p) => p.subnet_id === row.id)
      .sort((a, b) => byIp(a.first_ip, b.first_ip))
      .map((p) => ({ start: p.first_ip, end: p.last_ip })),
    host_routes: routes
      .filter((r) => r.subnet_id === row.id)
      .map((r) => ({ destination: r.destination, nexthop: r.nexthop })),
    dns_nameservers: dns.filter((d) => d.subnet_id === row.id).map((d) => d.address),
    ...standardAttributes(row),
  }));
}

/** Subnets the caller may see: its own, and those of networks it may see (shared or external). */
async function visibleSubnetRows(db: Db, ctx: RequestContext, id?: string): Promise<SubnetsTable[]> {
  let query = db.selectFrom('subnets').selectAll('subnets');
  if (id !== undefined) query = query.where('subnets.id', '=', id);
  if (!ctx.isAdmin) {
    const project = ctx.projectId ?? '';
    query = query
      .innerJoin('networks', 'networks.id', 'subnets.network_id')
      .where((eb) =>
        eb.or([
          eb('subnets.project_id', '=', project),
          eb('networks.project_id', '=', project),
          eb('networks.shared', '=', 1),
          eb('networks.router_external', '=', 1),
        ]),
      );
  }
  return query.execute();
}

export async function getSubnet(db: Db, ctx: RequestContext, id: string): Promise<SubnetRecord> {
  const rows = await visibleSubnetRows(db, ctx, id);
  if (rows.length === 0) throw subnetNotFound(id);
  return (await subnetRecords(db, rows))[0]!;
}

export async function listSubnets(db: Db, ctx: RequestContext): Promise<SubnetRecord[]> {
  return subnetRecords(db, await visibleSubnetRows(db, ctx));
}

/** The subnet row for a change by its owner (or an admin); 403 when visible but not theirs. */
async function ownedSubnetRow(trx: Db, ctx: RequestContext, id: string, action: string): Promise<SubnetsTable> {
  const [row] = await visibleSubnetRows(trx, ctx, id);
  if (!row) throw subnetNotFound(id);
  requireNetworkPolicy(ctx, action, { project_id: row.project_id });
  return row;
}

export async function updateSubnet(
  db: Db,
  ctx: RequestContext,
  id: string,
  changes: SubnetUpdate,
): Promise<SubnetRecord> {
  await inTransaction(db, async (trx) => {
    const row = await ownedSubnetRow(trx, ctx, id, 'update_subnet');
    const cidr = parseCidr(row.cidr)! as Cidr;
    const version = cidr.version;
    let gateway = row.gateway_ip === null ? null : parseIp(row.gateway_ip)!.value;
    if (changes.gateway_ip !== undefined) {
      // An update to null clears the gateway; Neutron has no "default" on update.
      gateway = changes.gateway_ip === null ? null : resolveGateway(cidr, changes.gateway_ip);
    }
    const pools = changes.allocation_pools ? resolvePools(cidr, gateway, changes.allocation_pools) : undefined;
    if (!pools && changes.gateway_ip !== undefined) {
      const current = await trx.selectFrom('subnet_allocation_pools').selectAll().where('subnet_id', '=', id).execute();
      checkGatewayOutsidePools(
        version,
        gateway,
        current.map((p) => ({ version, first: parseIp(p.first_ip)!.value, last: parseIp(p.last_ip)!.value })),
      );
    }
    const dns = changes.dns_nameservers ? checkNameservers(id, changes.dns_nameservers, version) : undefined;
    const routes = changes.host_routes ? checkHostRoutes(id, changes.host_routes, version) : undefined;
    await trx
      .updateTable('subnets')
      .set({
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.enable_dhcp !== undefined ? { enable_dhcp: changes.enable_dhcp ? 1 : 0 } : {}),
        ...(changes.gateway_ip !== undefined
          ? { gateway_ip: gateway === null ? null : formatIp({ version, value: gateway }) }
          : {}),
        revision_number: row.revision_number + 1,
        updated_at: now(),
      })
      .where('id', '=', id)
      .execute();
    await writeChildren(trx, id, version, {
      ...(pools ? { pools } : {}),
      ...(dns ? { dns } : {}),
      ...(routes ? { routes } : {}),
    });
  });
  return getSubnet(db, ctx, id);
}

export async function deleteSubnet(db: Db, ctx: RequestContext, id: string): Promise<void> {
  await inTransaction(db, async (trx) => {
    const row = await ownedSubnetRow(trx, ctx, id, 'delete_subnet');
    const holders = await trx
      .selectFrom('ip_allocations')
      .innerJoin('ports', 'ports.id', 'ip_allocations.port_id')
      .select('ports.id')
      .where('ip_allocations.subnet_id', '=', id)
      .where('ports.device_owner', 'not in', AUTO_DELETE_PORT_OWNERS)
      .limit(1)
      .executeTakeFirst();
    if (holders) {
      throw new SubnetInUse(
        `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`,
      );
    }
    await trx.deleteFrom('ip_allocations').where('subnet_id', '=', id).execute();
    await trx.deleteFrom('subnet_allocation_pools').where('subnet_id', '=', id).execute();
    await trx.deleteFrom('subnet_dns_nameservers').where('subnet_id', '=', id).execute();
    await trx.deleteFrom('subnet_host_routes').where('subnet_id', '=', id).execute();
    await trx.deleteFrom('network_tags').where('resource_id', '=', id).execute();
    await trx.deleteFrom('subnets').where('id', '=', id).execute();
    await touchNetwork(trx, row.network_id);
  });
}
