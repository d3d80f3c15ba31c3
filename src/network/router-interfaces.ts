/**
 * add_router_interface / remove_router_interface: attaching a project subnet to a router, either by
 * subnet (the router gets a port holding the subnet's gateway address) or by an existing port of the
 * project, and detaching it again (refused while floating IPs reach ports of the subnet through it).
 */
import type { Transaction } from 'kysely';
import { adminContext, type RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { now, type Schema, type SubnetsTable } from '../common/db/schema.ts';
import { canSeeNetwork } from './access.ts';
import { badRequest, subnetNotFound } from './errors.ts';
import { cidrContains, parseCidr, parseIp } from './ip.ts';
import {
  PortInUse,
  RouterInterfaceInUseByFloatingIP,
  RouterInterfaceNotFound,
  RouterInterfaceNotFoundForSubnet,
  SubnetMismatchForPort,
} from './l3-errors.ts';
import { createPort, getPort, removePortRows } from './ports.ts';
import { visibleRouterRow } from './routers.ts';
import { checkNoOverlap, ROUTER_INTERFACE } from './router-topology.ts';
import { inTransaction } from './transaction.ts';

export interface InterfaceRequest {
  subnet_id?: string;
  port_id?: string;
}

/** Neutron's answer to both actions. */
export interface InterfaceInfo {
  id: string;
  tenant_id: string;
  project_id: string;
  port_id: string;
  network_id: string;
  subnet_id: string;
  subnet_ids: string[];
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function checkRequest(body: InterfaceRequest, forRemoval: boolean): void {
  if (body.port_id === undefined && body.subnet_id === undefined) {
    throw badRequest('router', 'Either subnet_id or port_id must be specified');
  }
  for (const key of ['port_id', 'subnet_id'] as const) {
    const value = body[key];
    if (value !== undefined && (typeof value !== 'string' || !UUID.test(value))) {
      throw badRequest('router', `'${String(value)}' is not a valid UUID`);
    }
  }
  if (!forRemoval && body.port_id !== undefined && body.subnet_id !== undefined) {
    throw badRequest('router', 'Cannot specify both subnet-id and port-id');
  }
}

async function visibleSubnet(db: Db, ctx: RequestContext, id: string): Promise<SubnetsTable> {
  const subnet = await db.selectFrom('subnets').selectAll().where('id', '=', id).executeTakeFirst();
  const network = subnet
    ? await db.selectFrom('networks').selectAll().where('id', '=', subnet.network_id).executeTakeFirst()
    : undefined;
  if (!subnet || !network || !canSeeNetwork(ctx, network)) throw subnetNotFound(id);
  return subnet;
}

function info(routerId: string, port: { id: string; project_id: string; network_id: string }, subnetIds: string[]) {
  return {
    id: routerId,
    tenant_id: port.project_id,
    project_id: port.project_id,
    port_id: port.id,
    network_id: port.network_id,
    subnet_id: subnetIds[subnetIds.length - 1]!,
    subnet_ids: subnetIds,
  };
}

async function touchRouter(trx: Transaction<Schema>, routerId: string): Promise<void> {
  await trx
    .updateTable('routers')
    .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: now() }))
    .where('id', '=', routerId)
    .execute();
}

export async function addRouterInterface(
  db: Db,
  ctx: RequestContext,
  routerId: string,
  body: InterfaceRequest,
): Promise<InterfaceInfo> {
  const router = await visibleRouterRow(db, ctx, routerId);
  checkRequest(body, false);
  if (body.port_id !== undefined) {
    const port = await getPort(db, ctx, body.port_id);
    if (port.device_id !== '') {
      throw new PortInUse(
        `Unable to complete operation on port ${port.id} for network ${port.network_id}. Port already has an attached device ${port.device_id}.`,
      );
    }
    if (port.fixed_ips.length === 0) throw badRequest('router', 'Router port must have at least one fixed IP');
    const subnets = await db
      .selectFrom('subnets')
      .selectAll()
      .where(
        'id',
        'in',
        port.fixed_ips.map((f) => f.subnet_id),
      )
      .execute();
    if (subnets.filter((s) => s.ip_version === 4).length > 1) {
      throw badRequest('router', 'Cannot have multiple IPv4 subnets on router port');
    }
    await checkNoOverlap(db, routerId, subnets);
    await inTransaction(db, async (trx) => {
      await trx
        .updateTable('ports')
        .set((eb) => ({
          device_id: routerId,
          device_owner: ROUTER_INTERFACE,
          revision_number: eb('revision_number', '+', 1),
          updated_at: now(),
        }))
        .where('id', '=', port.id)
        .where('device_id', '=', '')
        .execute();
      await trx
        .insertInto('router_ports')
        .values({ port_id: port.id, router_id: routerId, port_type: ROUTER_INTERFACE })
        .execute();
      await touchRouter(trx, routerId);
    });
    return info(
      routerId,
      port,
      subnets.map((s) => s.id),
    );
  }
  const subnet = await visibleSubnet(db, ctx, body.subnet_id!);
  if (!subnet.gateway_ip) throw badRequest('router', 'Subnet for router interface must have a gateway IP');
  if (!ctx.isAdmin && subnet.project_id !== ctx.projectId) {
    const network = await db
      .selectFrom('networks')
      .select('shared')
      .where('id', '=', subnet.network_id)
      .executeTakeFirst();
    if (network?.shared !== 1) {
      throw badRequest(
        'router',
        `Cannot add interface to router because subnet ${subnet.id} is not owned by project making the request`,
      );
    }
  }
  await checkNoOverlap(db, routerId, [subnet]);
  const port = await createPort(db, adminContext(), {
    project_id: router.project_id,
    network_id: subnet.network_id,
    fixed_ips: [{ subnet_id: subnet.id, ip_address: subnet.gateway_ip }],
    device_id: routerId,
    device_owner: ROUTER_INTERFACE,
    port_security_enabled: false,
  });
  try {
    await inTransaction(db, async (trx) => {
      await trx
        .insertInto('router_ports')
        .values({ port_id: port.id, router_id: routerId, port_type: ROUTER_INTERFACE })
        .execute();
      await touchRouter(trx, routerId);
    });
  } catch (err) {
    await inTransaction(db, (trx) => removePortRows(trx, [port.id]));
    throw err;
  }
  return info(routerId, port, [subnet.id]);
}

/** Refuses to detach `subnet` while a floating IP reaches one of its addresses through the router. */
async function refuseIfFloatingIpsNeed(db: Db, routerId: string, subnet: SubnetsTable): Promise<void> {
  const cidr = parseCidr(subnet.cidr)!;
  const fips = await db
    .selectFrom('floating_ips')
    .select(['fixed_ip_address'])
    .where('router_id', '=', routerId)
    .execute();
  const needed = fips.some((f) => {
    const ip = f.fixed_ip_address ? parseIp(f.fixed_ip_address) : null;
    return ip !== null && cidrContains(cidr, ip);
  });
  if (needed) {
    throw new RouterInterfaceInUseByFloatingIP(
      `Router interface for subnet ${subnet.id} on router ${routerId} cannot be deleted, as it is required by one or more floating IPs.`,
    );
  }
}

export async function removeRouterInterface(
  db: Db,
  ctx: RequestContext,
  routerId: string,
  body: InterfaceRequest,
): Promise<InterfaceInfo> {
  await visibleRouterRow(db, ctx, routerId);
  checkRequest(body, true);
  const interfacePorts = await db
    .selectFrom('router_ports as rp')
    .innerJoin('ports as p', 'p.id', 'rp.port_id')
    .select(['p.id', 'p.project_id', 'p.network_id'])
    .where('rp.router_id', '=', routerId)
    .where('rp.port_type', '=', ROUTER_INTERFACE)
    .execute();
  const allocations = interfacePorts.length
    ? await db
        .selectFrom('ip_allocations')
        .selectAll()
        .where(
          'port_id',
          'in',
          interfacePorts.map((p) => p.id),
        )
        .execute()
    : [];
  let port: (typeof interfacePorts)[number] | undefined;
  let subnets: SubnetsTable[];
  if (body.port_id !== undefined) {
    port = interfacePorts.find((p) => p.id === body.port_id);
    if (!port) {
      throw new RouterInterfaceNotFound(`Router ${routerId} does not have an interface with id ${body.port_id}`);
    }
    const portSubnets = allocations.filter((a) => a.port_id === port!.id).map((a) => a.subnet_id);
    if (body.subnet_id !== undefined && !portSubnets.includes(body.subnet_id)) {
      throw new SubnetMismatchForPort(
        `Subnet on port ${port.id} does not match the requested subnet ${body.subnet_id}.`,
      );
    }
    subnets = portSubnets.length
      ? await db.selectFrom('subnets').selectAll().where('id', 'in', portSubnets).execute()
      : [];
  } else {
    const subnet = await visibleSubnet(db, ctx, body.subnet_id!);
    const holder = allocations.find((a) => a.subnet_id === subnet.id);
    port = holder && interfacePorts.find((p) => p.id === holder.port_id);
    if (!port) {
      throw new RouterInterfaceNotFoundForSubnet(`Router ${routerId} has no interface on subnet ${subnet.id}`);
    }
    subnets = [subnet];
  }
  for (const subnet of subnets) await refuseIfFloatingIpsNeed(db, routerId, subnet);
  const removed = port;
  const keepsOthers = allocations.filter((a) => a.port_id === removed.id).length > subnets.length;
  await inTransaction(db, async (trx) => {
    if (keepsOthers) {
      // A port on several subnets leaves only the one named: its other addresses stay attached.
      await trx
        .deleteFrom('ip_allocations')
        .where('port_id', '=', removed.id)
        .where(
          'subnet_id',
          'in',
          subnets.map((s) => s.id),
        )
        .execute();
    } else {
      await trx.deleteFrom('router_ports').where('port_id', '=', removed.id).execute();
      await removePortRows(trx, [removed.id]);
    }
    await touchRouter(trx, routerId);
  });
  return info(
    routerId,
    removed,
    subnets.map((s) => s.id),
  );
}
