/**
 * Absolute URLs for `links` in bodies. Like Keystone without a configured public_endpoint, they are built
 * from the address the client used, so they work through whatever host name or proxy port it reached us by.
 */
import type { FastifyRequest } from 'fastify';

export function v3Base(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/v3`;
}

/** `{"self": ..., "previous": null, "next": null}` of a collection: Stratus lists are not paginated. */
export function collectionLinks(request: FastifyRequest): { self: string; previous: null; next: null } {
  const path = request.url.split('?')[0] ?? '';
  return { self: `${request.protocol}://${request.host}${path}`, previous: null, next: null };
}
