/** GET /v2.0/extensions and /v2.0/extensions/{alias}: the Neutron extensions Stratus implements. */
import { StratusError, declareError } from '../../common/errors.ts';
import type { ApiServer } from '../http/create-server.ts';
import type { NetworkExtension } from './module.ts';

const ExtensionNotFound = declareError(
  class ExtensionNotFound extends StratusError {
    override readonly status = 404;
  },
);

function view(e: NetworkExtension) {
  return { name: e.name, alias: e.alias, description: e.description, updated: e.updated, links: [] };
}

export function registerExtensionRoutes(app: ApiServer, extensions: readonly NetworkExtension[]): void {
  const sorted = [...extensions].sort((a, b) => a.alias.localeCompare(b.alias));
  app.get('/v2.0/extensions', async () => ({ extensions: sorted.map(view) }));
  app.get<{ Params: { alias: string } }>('/v2.0/extensions/:alias', async (request) => {
    const found = sorted.find((e) => e.alias === request.params.alias);
    if (!found) throw new ExtensionNotFound(`Extension with alias ${request.params.alias} does not exist`);
    return { extension: view(found) };
  });
}
