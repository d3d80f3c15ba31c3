/**
 * oslo.middleware's healthcheck on an API's own port, where load balancers configured for OpenStack
 * probe it (`GET` or `HEAD /healthcheck` on :8774, :5000, :9292, :9696): the same answers and the same
 * checks as the operator listener's (common/metrics/health.ts). Public, so no token is asked for and no
 * rate limit counts it (both happen after the public check in create-server.ts); it registers as an
 * ordinary route, so the route-table tests probe it as well.
 */
import { ConfigError } from '../../common/errors.ts';
import { answerHealthcheck, type HealthcheckSettings } from '../../common/metrics/health.ts';
import type { ApiServer } from './create-server.ts';

export function registerHealthcheck(app: ApiServer, options: HealthcheckSettings): void {
  // Registered after the API's own routes: a path one of them has would otherwise fail in Fastify's words.
  if (app.hasRoute({ method: 'GET', url: options.path })) {
    throw new ConfigError(`[healthcheck] path ${options.path} is a route of this API: choose another path`);
  }
  // HEAD is its own route: oslo answers it 204, where Fastify's HEAD for a GET would answer the GET's 200.
  app.route({
    method: ['GET', 'HEAD'],
    url: options.path,
    exposeHeadRoute: false,
    config: { public: true },
    handler: async (request, reply) => {
      const answer = await answerHealthcheck(
        { ...options, public: true },
        { method: request.method, accept: request.headers.accept },
      );
      void reply.code(answer.status).type(`${answer.contentType}; charset=UTF-8`);
      return request.method === 'HEAD' ? reply.send() : reply.send(answer.body);
    },
  });
}
