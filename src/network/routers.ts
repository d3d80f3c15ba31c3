/**
 * Routers: create, read, update and delete, with the external gateway (a port on a `router:external`
 * network, Neutron's ext-gw-mode with enable_snat) and extra routes. Interfaces are in
 * router-interfaces.ts. A router moves no packets itself in Stratus (see router-topology.ts): it
 * records which project subnets reach which external network, for floating IPs and outbound NAT.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { adminContext, type RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { now, type RoutersTable, type Schema } from '../common/db/schema.ts';
import { ownsOrAdmin, requireNetworkPolicy } from './access.ts';
import { badRequest } from './errors.ts';
import type { FixedIpRequest } from './ipam.ts';
import { RouterExternalGatewayInUseByFloatingIp, RouterInUse, routerNotFound } from './l3-errors.ts';
import { getVisibleNetworkRow } from './networks.ts';
import { createPort, removePortRows } from './ports.ts';
import { checkQuota } from './quotas.ts';
import { checkRoutes, type Route } from './router-routes.ts';
import { checkNoOverlap, ROUTER_GATEWAY, ROUTER_INTERFACE } from './router-topology.ts';
import { standardAttributes } from './standard-attributes.ts';
import { inTransaction } from './transaction.ts';

export interface ExternalGatewayInfo {
  network_id: string;
  enable_snat: boolean;
  external_fixed_ips: { subnet_id: string; ip_address: string }[];
}

export interface RouterRecord {
  id: string;
  name: string;
  tenant_id: string;
  project_id: string;
  admin_state_up: boolean;
  status: string;
  external_gateway_info: ExternalGatewayInfo | null;
  routes: Route[];
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

/** external_gateway_info as a client sends it. */
export interface GatewayRequest {
  network_id: string;
  enable_snat?: boolean;
  external_fixed_ips?: FixedIpRequest[];
}

export interface RouterCreate {
  project_id: string;
  name?: string;
  description?: string;
  admin_state_up?: boolean;
  external_gateway_info?: GatewayRequest | null;
}

export interface RouterUpdate {
  name?: string;
  description?: string;
  admin_state_up?: boolean;
  /** null removes the gateway. */
  external_gateway_info?: GatewayRequest | null;
  routes?: Route[];
}

type Reader = Db | Transaction<Schema>;

export async function routerRecords(db: Reader, rows: RoutersTable[]): Promise<RouterRecord[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const gwPorts = rows.flatMap((r) => (r.gw_port_id ? [r.gw_port_id] : []));
  const gateways = gwPorts.length
    ? await db
        .selectFrom('ports as p')
        .leftJoin('ip_allocations as a', 'a.port_id', 'p.id')
        .select(['p.id', 'p.network_id', 'a.subnet_id', 'a.ip_address'])
        .where('p.id', 'in', gwPorts)
        .execute()
    : [];
  const routes = await db.selectFrom('router_routes').selectAll().where('router_id', 'in', ids).execute();
  return rows.map((row) => {
    const gw = gateways.filter((g) => g.id === row.gw_port_id);
    return {
      id: row.id,
      name: row.name,
      tenant_id: row.project_id,
      project_id: row.project_id,
      admin_state_up: row.admin_state_up === 1,
      status: row.status,
      external_gateway_info: gw[0]
        ? {
            network_id: gw[0].network_id,
            enable_snat: row.enable_snat === 1,
            external_fixed_ips: gw.flatMap((g) =>
              g.subnet_id && g.ip_address ? [{ subnet_id: g.subnet_id, ip_address: g.ip_address }] : [],
            ),
          }
        : null,
      routes: routes
        .filter((r) => r.router_id === row.id)
        .map((r) => ({ destination: r.destination, nexthop: r.nexthop }))
        .sort((a, b) => (a.destination + a.nexthop).localeCompare(b.destination + b.nexthop)),
      ...standardAttributes(row),
    };
  });
}

/** The router's row when the caller may see it (its project's, or any for an admin). */
export async function visibleRouterRow(db: Reader, ctx: RequestContext, id: string): Promise<RoutersTable> {
  const row = await db.selectFrom('routers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !ownsOrAdmin(ctx, row.project_id, 'get_router')) throw routerNotFound(id);
  return row;
}

export async function getRouter(db: Db, ctx: RequestContext, id: string): Promise<RouterRecord> {
  return (await routerRecords(db, [await visibleRouterRow(db, ctx, id)]))[0]!;
}

export async function listRouters(db: Db, ctx: RequestContext): Promise<RouterRecord[]> {
  let query = db.selectFrom('routers').selectAll();
  if (!ctx.isAdmin) query = query.where('project_id', '=', ctx.projectId ?? '');
  return routerRecords(db, await query.execute());
}

/** Neutron's defaults let only an admin choose SNAT or the gateway's addresses. */
function checkGatewayPolicy(ctx: RequestContext, action: 'create_router' | 'update_router', info: GatewayRequest) {
  if (info.enable_snat !== undefined) requireNetworkPolicy(ctx, `${action}:external_gateway_info:enable_snat`);
  if (info.external_fixed_ips !== undefined) {
    requireNetworkPolicy(ctx, `${action}:external_gateway_info:external_fixed_ips`);
  }
}

export async function createRouter(db: Db, ctx: RequestContext, input: RouterCreate): Promise<RouterRecord> {
  requireNetworkPolicy(ctx, 'create_router', { project_id: input.project_id });
  if (input.external_gateway_info) checkGatewayPolicy(ctx, 'create_router', input.external_gateway_info);
  const id = randomUUID();
  const stamp = now();
  await inTransaction(db, async (trx) => {
    await checkQuota(trx, input.project_id, 'router', 1);
    await trx
      .insertInto('routers')
      .values({
        id,
        project_id: input.project_id,
        name: input.name ?? '',
        description: input.description ?? '',
        status: 'ACTIVE',
        admin_state_up: input.admin_state_up === false ? 0 : 1,
        gw_port_id: null,
        enable_snat: 1,
        revision_number: 0,
        created_at: stamp,
        updated_at: stamp,
      })
      .execute();
  });
  if (input.external_gateway_info) {
    try {
      await setGateway(db, ctx, id, input.external_gateway_info);
    } catch (err) {
      // A router whose gateway could not be set is not created at all, as in Neutron.
      await inTransaction(db, (trx) => trx.deleteFrom('routers').where('id', '=', id).execute());
      throw err;
    }
  }
  return getRouter(db, ctx, id);
}

async function refuseIfFloatingIpsUseGateway(db: Reader, router: RoutersTable, networkId: string): Promise<void> {
  const used = await db.selectFrom('floating_ips').select('id').where('router_id', '=', router.id).executeTakeFirst();
  if (used) {
    throw new RouterExternalGatewayInUseByFloatingIp(
      `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${networkId} is required by one or more floating IPs.`,
    );
  }
}

/** Removes the router's gateway port (refused while floating IPs go through it). */
async function clearGateway(db: Db, routerId: string): Promise<void> {
  await inTransaction(db, async (trx) => {
    const router = await trx.selectFrom('routers').selectAll().where('id', '=', routerId).executeTakeFirstOrThrow();
    if (!router.gw_port_id) return;
    const port = await trx
      .selectFrom('ports')
      .select('network_id')
      .where('id', '=', router.gw_port_id)
      .executeTakeFirst();
    await refuseIfFloatingIpsUseGateway(trx, router, port?.network_id ?? '');
    await trx.updateTable('routers').set({ gw_port_id: null }).where('id', '=', routerId).execute();
    await trx.deleteFrom('router_ports').where('port_id', '=', router.gw_port_id).execute();
    await removePortRows(trx, [router.gw_port_id]);
  });
}

/**
 * Sets (or moves) the router's gateway: the network must be external; the router's gateway port gets
 * the requested addresses (or any free one); SNAT is on unless turned off.
 */
async function setGateway(db: Db, ctx: RequestContext, routerId: string, info: GatewayRequest): Promise<void> {
  const network = await getVisibleNetworkRow(db, ctx, info.network_id);
  if (network.router_external !== 1) {
    throw badRequest('router', `Network ${network.id} is not an external network`);
  }
  const subnets = await db.selectFrom('subnets').selectAll().where('network_id', '=', network.id).execute();
  for (const ip of info.external_fixed_ips ?? []) {
    if (ip.ip_address !== undefined && subnets.some((s) => s.gateway_ip === ip.ip_address)) {
      throw badRequest('router', `External IP ${ip.ip_address} is the same as the gateway IP`);
    }
  }
  const router = await db.selectFrom('routers').selectAll().where('id', '=', routerId).executeTakeFirstOrThrow();
  const current = router.gw_port_id
    ? await db.selectFrom('ports').select('network_id').where('id', '=', router.gw_port_id).executeTakeFirst()
    : undefined;
  const snat = info.enable_snat === false ? 0 : 1;
  if (current?.network_id === network.id && info.external_fixed_ips === undefined) {
    await inTransaction(db, (trx) =>
      trx.updateTable('routers').set({ enable_snat: snat }).where('id', '=', routerId).execute(),
    );
    return;
  }
  if (current && current.network_id !== network.id) await refuseIfFloatingIpsUseGateway(db, router, current.network_id);
  await checkNoOverlap(db, routerId, subnets);
  await clearGateway(db, routerId);
  // The gateway port belongs to no project, as Neutron's does: it is the router's, not the tenant's.
  const port = await createPort(db, adminContext(), {
    project_id: '',
    network_id: network.id,
    device_id: routerId,
    device_owner: ROUTER_GATEWAY,
    port_security_enabled: false,
    ...(info.external_fixed_ips !== undefined ? { fixed_ips: info.external_fixed_ips } : {}),
  });
  try {
    await inTransaction(db, async (trx) => {
      await trx
        .insertInto('router_ports')
        .values({ port_id: port.id, router_id: routerId, port_type: ROUTER_GATEWAY })
        .execute();
      await trx
        .updateTable('routers')
        .set({ gw_port_id: port.id, enable_snat: snat })
        .where('id', '=', routerId)
        .execute();
    });
  } catch (err) {
    await inTransaction(db, (trx) => removePortRows(trx, [port.id]));
    throw err;
  }
}

export async function updateRouter(
  db: Db,
  ctx: RequestContext,
  id: string,
  changes: RouterUpdate,
): Promise<RouterRecord> {
  const router = await visibleRouterRow(db, ctx, id);
  if (changes.external_gateway_info) checkGatewayPolicy(ctx, 'update_router', changes.external_gateway_info);
  if (changes.external_gateway_info === null) await clearGateway(db, id);
  else if (changes.external_gateway_info) await setGateway(db, ctx, id, changes.external_gateway_info);
  await inTransaction(db, async (trx) => {
    if (changes.routes !== undefined) {
      const routes = await checkRoutes(trx, id, changes.routes);
      await trx.deleteFrom('router_routes').where('router_id', '=', id).execute();
      if (routes.length) {
        await trx
          .insertInto('router_routes')
          .values(routes.map((r) => ({ router_id: id, ...r })))
          .execute();
      }
    }
    await trx
      .updateTable('routers')
      .set({
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.admin_state_up !== undefined ? { admin_state_up: changes.admin_state_up ? 1 : 0 } : {}),
        revision_number: router.revision_number + 1,
        updated_at: now(),
      })
      .where('id', '=', id)
      .execute();
  });
  return getRouter(db, ctx, id);
}

/** Replaces the router's extra routes with `routes` (the extraroute-atomic actions compute the new set). */
export async function replaceRoutes(db: Db, ctx: RequestContext, id: string, routes: Route[]): Promise<RouterRecord> {
  return updateRouter(db, ctx, id, { routes });
}

export async function deleteRouter(db: Db, ctx: RequestContext, id: string): Promise<void> {
  await visibleRouterRow(db, ctx, id);
  const interfaces = await db
    .selectFrom('router_ports')
    .select('port_id')
    .where('router_id', '=', id)
    .where('port_type', '=', ROUTER_INTERFACE)
    .execute();
  if (interfaces.length > 0) {
    throw new RouterInUse(`Router ${id} has ports still attached: ${interfaces.map((p) => p.port_id).join(', ')}`);
  }
  await clearGateway(db, id);
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('router_routes').where('router_id', '=', id).execute();
    await trx.deleteFrom('network_tags').where('resource_id', '=', id).execute();
    await trx.deleteFrom('routers').where('id', '=', id).execute();
  });
}
