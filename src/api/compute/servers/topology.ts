/**
 * GET /servers/{id}/topology (2.78): the guest's NUMA topology as Nova reports it. Stratus builds every
 * guest without a virtual NUMA topology (qemu is given no `-numa` nodes, and guests with dedicated CPUs
 * have their pinning chosen and kept by their compute host, not recorded with the instance), so the
 * answer is Nova's for an instance whose numa_topology is unset: no nodes and no page size. Anyone who
 * may see the server may ask (Nova's project reader rule); the admin-only host fields (`host_node`,
 * `cpu_pinning`) belong to nodes, so there are none to hide.
 */
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { requireVersion } from '../microversion.ts';
import { findServerFor } from './lookup.ts';

const TOPOLOGY_VERSION = '2.78';

export function registerServerTopologyRoute(app: ApiServer, deps: ComputeApiDeps): void {
  app.get<{ Params: { id: string } }>('/servers/:id/topology', async (request) => {
    requireVersion(request, TOPOLOGY_VERSION);
    // The lookup is the policy check too: a server of another project is not found, as in Nova.
    await findServerFor(deps.database.db, request.ctx, request.params.id, 'compute:server:topology:index');
    return { nodes: [], pagesize_kb: null };
  });
}
