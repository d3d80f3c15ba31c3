/**
 * The APIs Nova removed outright (nova-network, cells v1, cloudpipe, certificates, the Xen agents, the
 * XVP consoles, fping, virtual interfaces): Nova still routes them and answers every method, at every
 * microversion and for anyone, 410 Gone, so a client learns they are gone rather than mistyped.
 */
import type { ApiServer } from '../../http/create-server.ts';
import { Gone } from '../http-errors.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Each removed path with the methods Nova routed to it. */
export const GONE_ROUTES: readonly (readonly [string, readonly Method[]])[] = [
  ['/os-agents', ['GET', 'POST']],
  ['/os-agents/:id', ['PUT', 'DELETE']],
  ['/os-cells', ['GET', 'POST']],
  ['/os-cells/capacities', ['GET']],
  ['/os-cells/detail', ['GET']],
  ['/os-cells/info', ['GET']],
  ['/os-cells/sync_instances', ['POST']],
  ['/os-cells/:id', ['GET', 'PUT', 'DELETE']],
  ['/os-cells/:id/capacities', ['GET']],
  ['/os-certificates', ['POST']],
  ['/os-certificates/:id', ['GET']],
  ['/os-cloudpipe', ['GET', 'POST']],
  ['/os-cloudpipe/:id', ['PUT']],
  ['/os-fixed-ips/:id', ['GET']],
  ['/os-fixed-ips/:id/action', ['POST']],
  ['/os-floating-ip-dns', ['GET']],
  ['/os-floating-ip-dns/:id', ['PUT', 'DELETE']],
  ['/os-floating-ip-dns/:domain_id/entries/:id', ['GET', 'PUT', 'DELETE']],
  ['/os-floating-ips-bulk', ['GET', 'POST']],
  ['/os-floating-ips-bulk/:id', ['GET', 'PUT']],
  ['/os-fping', ['GET']],
  ['/os-fping/:id', ['GET']],
  // nova-network's write side of os-networks and os-tenant-networks; their reads were proxies (proxies.ts).
  ['/os-networks', ['POST']],
  ['/os-networks/add', ['POST']],
  ['/os-networks/:id', ['DELETE']],
  ['/os-networks/:id/action', ['POST']],
  ['/os-tenant-networks', ['POST']],
  ['/os-tenant-networks/:id', ['DELETE']],
  ['/os-security-group-default-rules', ['GET', 'POST']],
  ['/os-security-group-default-rules/:id', ['GET', 'DELETE']],
  ['/servers/:server_id/os-virtual-interfaces', ['GET']],
  ['/servers/:server_id/consoles', ['GET', 'POST']],
  ['/servers/:server_id/consoles/:id', ['GET', 'DELETE']],
];

export function registerGoneRoutes(app: ApiServer): void {
  for (const [url, methods] of GONE_ROUTES) {
    app.route({
      method: [...methods],
      url,
      handler: async () => {
        throw new Gone();
      },
    });
  }
}
