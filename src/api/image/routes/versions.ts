/**
 * Version discovery, which keystoneauth does before any image call: GET / answers 300 Multiple Choices
 * and GET /versions 200, both with Glance's `versions` list. Stratus implements the v2 API up to 2.7
 * (hidden images and multihash); the import, multi-store and cache APIs of later versions are not
 * offered, so later versions are not claimed.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiServer } from '../../http/create-server.ts';

const CURRENT = '2.7';
const SUPPORTED = ['2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'];

export function versionsBody(request: FastifyRequest): { versions: object[] } {
  const href = `${request.protocol}://${request.host}/v2/`;
  const version = (id: string, status: string) => ({ id: `v${id}`, status, links: [{ rel: 'self', href }] });
  return { versions: [version(CURRENT, 'CURRENT'), ...SUPPORTED.map((id) => version(id, 'SUPPORTED'))] };
}

export function registerVersionRoutes(app: ApiServer): void {
  app.get('/', { config: { public: true } }, async (request, reply) => reply.code(300).send(versionsBody(request)));
  app.get('/versions', { config: { public: true } }, async (request) => versionsBody(request));
}
