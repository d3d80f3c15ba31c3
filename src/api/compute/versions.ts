/**
 * Version discovery, which needs no token: GET / lists the major versions (only v2.1: Stratus never
 * served the legacy v2.0), GET /v2.1 describes v2.1 with its microversion range. Clients (novaclient,
 * keystoneauth) read these to pick the microversion they will ask for.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiServer } from '../http/create-server.ts';
import { rootUrl } from './links.ts';
import { formatVersion, MAX_VERSION, MIN_VERSION } from './microversion.ts';

function v21(request: FastifyRequest) {
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: formatVersion(MAX_VERSION),
    min_version: formatVersion(MIN_VERSION),
    updated: '2013-07-23T11:33:21Z',
    self: `${rootUrl(request)}/v2.1/`,
  };
}

/** GET / — outside the versioned routes, so no microversion is negotiated (as in Nova). */
export function registerRootVersionRoute(app: ApiServer): void {
  app.get('/', { config: { public: true } }, async (request) => {
    const { self, ...version } = v21(request);
    return { versions: [{ ...version, links: [{ rel: 'self', href: self }] }] };
  });
}

/** GET /v2.1 and /v2.1/ — registered inside the versioned scope, so the response names its microversion. */
export function registerVersionDocumentRoute(app: ApiServer): void {
  app.get('/', { config: { public: true } }, async (request) => {
    const { self, ...version } = v21(request);
    return {
      version: {
        ...version,
        links: [
          { rel: 'self', href: self },
          { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
        ],
        'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
      },
    };
  });
}
