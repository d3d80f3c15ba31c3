/**
 * Version discovery as Neutron serves it: GET / lists the one API version (v2.0), GET /v2.0 lists its
 * resources with links. Both are public: clients read them before they have a token.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiServer } from '../http/create-server.ts';
import type { NetworkResource } from './module.ts';

export function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

export function registerVersionRoutes(app: ApiServer, resources: readonly NetworkResource[]): void {
  app.get('/', { config: { public: true } }, async (request) => ({
    versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${baseUrl(request)}/v2.0/`, rel: 'self' }] }],
  }));
  const document = async (request: FastifyRequest) => ({
    resources: resources.map((r) => ({
      links: [{ href: `${baseUrl(request)}/v2.0/${r.collection}`, rel: 'self' }],
      name: r.name,
      collection: r.collection,
    })),
  });
  app.get('/v2.0', { config: { public: true } }, document);
  app.get('/v2.0/', { config: { public: true } }, document);
}
