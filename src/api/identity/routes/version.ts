/** Version discovery: GET / lists the versions (300 Multiple Choices), GET /v3 describes v3. */
import type { FastifyRequest } from 'fastify';
import type { ApiServer } from '../../http/create-server.ts';
import { v3Base } from '../links.ts';

/** The Keystone release whose v3 API this implements the client-facing subset of. */
const VERSION_ID = 'v3.14';
const VERSION_UPDATED = '2020-04-07T00:00:00Z';

function versionDocument(request: FastifyRequest) {
  return {
    id: VERSION_ID,
    status: 'stable',
    updated: VERSION_UPDATED,
    links: [{ rel: 'self', href: `${v3Base(request)}/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

export function registerVersionRoutes(app: ApiServer): void {
  app.get('/', { config: { public: true } }, async (request, reply) => {
    void reply.code(300).header('location', `${v3Base(request)}/`);
    return { versions: { values: [versionDocument(request)] } };
  });
  for (const path of ['/v3', '/v3/']) {
    app.get(path, { config: { public: true } }, async (request) => ({ version: versionDocument(request) }));
  }
}
