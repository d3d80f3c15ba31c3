/**
 * /v2.0/routers: Neutron's router resource with its external gateway (ext-gw-mode), extra routes
 * (extraroute, and extraroute-atomic's add/remove actions) and the add/remove_router_interface actions.
 */
import { canonicalIp } from '../../../network/ip.ts';
import { HTTPBadRequest } from '../../../network/errors.ts';
import { routerNotFound } from '../../../network/l3-errors.ts';
import {
  addRouterInterface,
  removeRouterInterface,
  type InterfaceRequest,
} from '../../../network/router-interfaces.ts';
import type { Route } from '../../../network/router-routes.ts';
import {
  createRouter,
  deleteRouter,
  getRouter,
  listRouters,
  replaceRoutes,
  updateRouter,
  type GatewayRequest,
  type RouterCreate,
  type RouterUpdate,
} from '../../../network/routers.ts';
import {
  booleanAttr,
  listAttr,
  parseResourceBody,
  stringAttr,
  uuidAttr,
  type AttributeSpecs,
  type Converted,
} from '../attributes.ts';
import type { NetworkApiModule } from '../module.ts';
import { registerResourceRoutes } from '../resource-routes.ts';
import { TAGS_READ_ONLY, withTagsOne } from '../tags.ts';

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** external_gateway_info: {network_id (required), enable_snat, external_fixed_ips}; {} or null clear it. */
function gatewayAttr(value: unknown): Converted {
  if (value === null) return { ok: true, value: null };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: `'${show(value)}' is not a dictionary` };
  }
  const given = value as Record<string, unknown>;
  if (Object.keys(given).length === 0) return { ok: true, value: null };
  const unknown = Object.keys(given).filter((k) => !['network_id', 'enable_snat', 'external_fixed_ips'].includes(k));
  if (unknown.length) return { ok: false, reason: `Unrecognized attribute(s) '${unknown.join(', ')}'` };
  if (given['network_id'] === undefined)
    return {
      ok: false,
      reason: "Validation of dictionary's keys failed. Expected keys: {'network_id'} Provided keys: set()",
    };
  const network = uuidAttr(given['network_id']);
  if (!network.ok) return network;
  const out: GatewayRequest = { network_id: network.value as string };
  if (given['enable_snat'] !== undefined) {
    const snat = booleanAttr(given['enable_snat']);
    if (!snat.ok) return snat;
    out.enable_snat = snat.value as boolean;
  }
  if (given['external_fixed_ips'] !== undefined) {
    const ips = given['external_fixed_ips'];
    if (!Array.isArray(ips)) return { ok: false, reason: `Invalid data format for fixed IP: '${show(ips)}'` };
    out.external_fixed_ips = [];
    for (const ip of ips as unknown[]) {
      if (typeof ip !== 'object' || ip === null)
        return { ok: false, reason: `Invalid data format for fixed IP: '${show(ip)}'` };
      const { subnet_id, ip_address } = ip as Record<string, unknown>;
      if (subnet_id !== undefined && !uuidAttr(subnet_id).ok)
        return { ok: false, reason: `'${show(subnet_id)}' is not a valid UUID` };
      const address =
        ip_address === undefined ? undefined : typeof ip_address === 'string' ? canonicalIp(ip_address) : null;
      if (address === null) return { ok: false, reason: `'${show(ip_address)}' is not a valid IP address` };
      out.external_fixed_ips.push({
        ...(subnet_id !== undefined ? { subnet_id: subnet_id as string } : {}),
        ...(address !== undefined ? { ip_address: address } : {}),
      });
    }
  }
  return { ok: true, value: out };
}

/** routes: a list of {destination, nexthop}; their values are checked against the router's subnets. */
function routesAttr(value: unknown): Converted {
  const list = listAttr(value);
  if (!list.ok) return list;
  for (const route of value as unknown[]) {
    if (typeof route !== 'object' || route === null || Array.isArray(route)) {
      return { ok: false, reason: `Invalid data format for hostroute: '${show(route)}'` };
    }
    const keys = Object.keys(route).sort();
    if (keys.join() !== 'destination,nexthop') {
      return { ok: false, reason: `Invalid data format for hostroute: '${show(route)}'` };
    }
  }
  return { ok: true, value };
}

const SPECS: AttributeSpecs = {
  name: { allowPost: true, allowPut: true, convert: stringAttr(255) },
  description: { allowPost: true, allowPut: true, convert: stringAttr(255) },
  admin_state_up: { allowPost: true, allowPut: true, convert: booleanAttr },
  external_gateway_info: { allowPost: true, allowPut: true, convert: gatewayAttr },
  routes: { allowPost: false, allowPut: true, convert: routesAttr },
  project_id: { allowPost: true, allowPut: false, convert: stringAttr(255) },
  tags: TAGS_READ_ONLY,
};

const ROUTES_ONLY: AttributeSpecs = {
  routes: { allowPost: false, allowPut: true, required: true, convert: routesAttr },
};

type IdParams = { Params: { id: string } };

function interfaceBody(body: unknown): InterfaceRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HTTPBadRequest('Resource body required');
  }
  return body as InterfaceRequest;
}

const sameRoute = (a: Route, b: Route) => a.destination === b.destination && a.nexthop === b.nexthop;

export const routersModule: NetworkApiModule = {
  resources: [{ name: 'router', collection: 'routers' }],
  extensions: [
    {
      alias: 'router',
      name: 'Neutron L3 Router',
      description: 'Routers connect project subnets to an external network, for floating IPs and outbound NAT.',
      updated: '2012-07-20T10:00:00-00:00',
    },
    {
      alias: 'ext-gw-mode',
      name: 'Neutron L3 Configurable external gateway mode',
      description: "A router's external gateway says whether outbound traffic is source-NATed (enable_snat).",
      updated: '2013-03-28T10:00:00-00:00',
    },
    {
      alias: 'extraroute',
      name: 'Neutron Extra Route',
      description: 'Routers carry extra static routes.',
      updated: '2013-02-01T10:00:00-00:00',
    },
    {
      alias: 'extraroute-atomic',
      name: 'Atomically add/remove extra routes',
      description: 'Extra routes are added and removed on the server, without replacing the whole list.',
      updated: '2019-07-10T00:00:00+00:00',
    },
  ],
  register(app, { database }) {
    const db = database.db;
    registerResourceRoutes(app, {
      member: 'router',
      collection: 'routers',
      path: '/v2.0/routers',
      specs: SPECS,
      notFound: routerNotFound,
      tagsFrom: db,
      list: (ctx) => listRouters(db, ctx),
      get: (ctx, id) => getRouter(db, ctx, id),
      create: (ctx, attrs) => createRouter(db, ctx, attrs as RouterCreate),
      update: (ctx, id, attrs) => updateRouter(db, ctx, id, attrs as RouterUpdate),
      remove: (ctx, id) => deleteRouter(db, ctx, id),
    });
    app.put<IdParams>('/v2.0/routers/:id/add_router_interface', async (request) =>
      addRouterInterface(db, request.ctx, request.params.id, interfaceBody(request.body)),
    );
    app.put<IdParams>('/v2.0/routers/:id/remove_router_interface', async (request) =>
      removeRouterInterface(db, request.ctx, request.params.id, interfaceBody(request.body)),
    );
    app.put<IdParams>('/v2.0/routers/:id/add_extraroutes', async (request) => {
      const { routes } = parseResourceBody('router', request.body, ROUTES_ONLY, 'PUT') as { routes: Route[] };
      const current = (await getRouter(db, request.ctx, request.params.id)).routes;
      const added = routes.filter((r) => !current.some((c) => sameRoute(c, r)));
      return {
        router: await withTagsOne(db, await replaceRoutes(db, request.ctx, request.params.id, [...current, ...added])),
      };
    });
    app.put<IdParams>('/v2.0/routers/:id/remove_extraroutes', async (request) => {
      const { routes } = parseResourceBody('router', request.body, ROUTES_ONLY, 'PUT') as { routes: Route[] };
      const current = (await getRouter(db, request.ctx, request.params.id)).routes;
      const kept = current.filter((c) => !routes.some((r) => sameRoute(c, r)));
      return { router: await withTagsOne(db, await replaceRoutes(db, request.ctx, request.params.id, kept)) };
    });
  },
};
