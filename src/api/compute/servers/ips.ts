/**
 * GET /servers/{id}/ips and /servers/{id}/ips/{network_label}: the server's addresses by network, each
 * with its version and address only (Nova's ips view), from the same source as the server's `addresses`.
 */
import { NotFound } from '../../../common/errors.ts';
import { instanceAddresses } from '../../../objects/instance-addresses.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { findServerFor } from './lookup.ts';
import { addressesView } from './view.ts';

export function registerServerIpsRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.get<{ Params: { id: string } }>('/servers/:id/ips', async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:ips:index');
    return { addresses: addressesView(await instanceAddresses(db, instance.uuid), false) };
  });

  app.get<{ Params: { id: string; label: string } }>('/servers/:id/ips/:label', async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:ips:show');
    const view = addressesView(await instanceAddresses(db, instance.uuid), false);
    const addresses = view[request.params.label];
    if (!addresses) throw new NotFound('Instance is not a member of specified network');
    return { [request.params.label]: addresses };
  });
}
