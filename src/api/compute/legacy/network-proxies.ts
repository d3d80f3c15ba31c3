/**
 * The network proxy reads Nova keeps below 2.36 (404 from it), answered from the network service's
 * tables as Nova answers them from Neutron: os-networks (nova-network's keys, all null but the id and
 * the label, the admin-only ones for admins), os-tenant-networks (id, label and a cidr of "None"),
 * os-floating-ip-pools (the external networks by name) and os-security-groups list and show (the
 * project's groups, their ingress rules in Nova's format). What would write through them stays in
 * proxies.ts.
 */
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import type { NetworksTable } from '../../../common/db/schema.ts';
import { NotFound } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { novaSecurityGroups } from '../servers/security-groups.ts';
import { proxyChecks } from './proxies.ts';

type Id = FastifyRequest<{ Params: { id: string } }>;
type NetworkRow = Pick<NetworksTable, 'id' | 'name' | 'project_id' | 'shared' | 'router_external'>;

const NETWORK_FIELDS = [
  'id',
  'cidr',
  'netmask',
  'gateway',
  'broadcast',
  'dns1',
  'dns2',
  'cidr_v6',
  'gateway_v6',
].concat(['label', 'netmask_v6']);
const ADMIN_NETWORK_FIELDS = ['created_at', 'updated_at', 'deleted_at', 'deleted', 'injected', 'bridge', 'vlan']
  .concat(['vpn_public_address', 'vpn_public_port', 'vpn_private_address', 'dhcp_start', 'project_id', 'host'])
  .concat(['bridge_interface', 'multi_host', 'priority', 'rxtx_base', 'mtu', 'dhcp_server', 'enable_dhcp'])
  .concat(['share_address']);

/** Neutron's list visibility: an admin sees all; others their own, the shared and the external ones. */
async function visibleNetworks(db: Db, ctx: RequestContext, id?: string): Promise<NetworkRow[]> {
  let query = db.selectFrom('networks').select(['id', 'name', 'project_id', 'shared', 'router_external']);
  if (id !== undefined) query = query.where('id', '=', id);
  if (!ctx.isAdmin) {
    query = query.where((eb) =>
      eb.or([eb('project_id', '=', ctx.projectId ?? ''), eb('shared', '=', 1), eb('router_external', '=', 1)]),
    );
  }
  return query.orderBy('created_at').execute();
}

function novaNetworkView(ctx: RequestContext, network: NetworkRow): Record<string, unknown> {
  const fields = ctx.isAdmin ? [...NETWORK_FIELDS, ...ADMIN_NETWORK_FIELDS] : NETWORK_FIELDS;
  const view: Record<string, unknown> = Object.fromEntries(fields.map((f) => [f, null]));
  view['id'] = network.id;
  view['label'] = network.name;
  return view;
}

const tenantNetworkView = (network: NetworkRow) => ({ id: network.id, cidr: 'None', label: network.name });

export function registerNetworkProxyRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const oneNetwork = async (request: Id, rule: string): Promise<NetworkRow> => {
    proxyChecks(request, rule);
    const [network] = await visibleNetworks(db, request.ctx, request.params.id);
    if (!network) throw new NotFound('Network not found');
    return network;
  };

  app.get('/os-networks', async (request) => {
    proxyChecks(request, 'os_compute_api:os-networks:list');
    return { networks: (await visibleNetworks(db, request.ctx)).map((n) => novaNetworkView(request.ctx, n)) };
  });
  app.get('/os-networks/:id', async (request: Id) => ({
    network: novaNetworkView(request.ctx, await oneNetwork(request, 'os_compute_api:os-networks:show')),
  }));
  app.get('/os-tenant-networks', async (request) => {
    proxyChecks(request, 'os_compute_api:os-tenant-networks:list');
    return { networks: (await visibleNetworks(db, request.ctx)).map(tenantNetworkView) };
  });
  app.get('/os-tenant-networks/:id', async (request: Id) => ({
    network: tenantNetworkView(await oneNetwork(request, 'os_compute_api:os-tenant-networks:show')),
  }));
  app.get('/os-floating-ip-pools', async (request) => {
    proxyChecks(request, 'os_compute_api:os-floating-ip-pools');
    const external = (await visibleNetworks(db, request.ctx)).filter((n) => n.router_external === 1);
    return { floating_ip_pools: external.map((n) => ({ name: n.name || n.id })) };
  });
  app.get('/os-security-groups', async (request) => {
    proxyChecks(request, 'os_compute_api:os-security-groups:get');
    let query = db.selectFrom('security_groups').select('id');
    if (!request.ctx.isAdmin) query = query.where('project_id', '=', request.ctx.projectId ?? '');
    const ids = (await query.execute()).map((g) => g.id);
    return { security_groups: await novaSecurityGroups(db, ids) };
  });
  app.get('/os-security-groups/:id', async (request: Id) => {
    proxyChecks(request, 'os_compute_api:os-security-groups:show');
    const [group] = await novaSecurityGroups(db, [request.params.id]);
    if (!group || (!request.ctx.isAdmin && group.tenant_id !== request.ctx.projectId)) {
      throw new NotFound(`Security group ${request.params.id} not found.`);
    }
    return { security_group: group };
  });
}
