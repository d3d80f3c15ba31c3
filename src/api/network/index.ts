/**
 * The Networking API v2.0 (Neutron's contract, the part clients use): version discovery, extensions and
 * the resources of every module in modules.ts. `registerNetworkApi` mounts it on a server made by
 * createApiServer({ kind: 'network', ... }). The logic lives in src/network/; this layer parses, checks
 * policy and renders Neutron's bodies.
 */
import type { ApiServer } from '../http/create-server.ts';
import type { NetworkApiDeps } from './deps.ts';
import { registerExtensionRoutes } from './extensions.ts';
import { NETWORK_API_MODULES } from './modules.ts';
import { registerVersionRoutes } from './versions.ts';

export type { NetworkApiDeps } from './deps.ts';

export function registerNetworkApi(app: ApiServer, deps: NetworkApiDeps): void {
  void app.register(async (scope) => {
    registerVersionRoutes(
      scope,
      NETWORK_API_MODULES.flatMap((m) => m.resources),
    );
    registerExtensionRoutes(
      scope,
      NETWORK_API_MODULES.flatMap((m) => m.extensions),
    );
    for (const module of NETWORK_API_MODULES) module.register(scope, deps);
  });
}
