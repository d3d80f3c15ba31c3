/**
 * Links in compute API bodies, built as Nova builds them: from the URL the client used (so they work
 * through whatever name or proxy the client reached us by), with the project id in the path only when
 * the client put it there, `self` under /v2.1 and `bookmark` without the version.
 */
import type { FastifyRequest } from 'fastify';

export interface Link {
  rel: string;
  href: string;
  type?: string;
}

export function rootUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** The project id the client put in the path (`/v2.1/{project_id}/servers`), or ''. */
export function pathProjectId(request: FastifyRequest): string {
  const params = request.params as { project_id?: string } | undefined;
  return params?.project_id ?? '';
}

function join(...parts: string[]): string {
  return parts
    .filter((p) => p !== '')
    .map((p, i) => (i === 0 ? p.replace(/\/+$/, '') : p.replace(/^\/+|\/+$/g, '')))
    .join('/');
}

/** The self and bookmark prefixes of one request: a list of 1000 servers builds 3000 links on them. */
const prefixes = new WeakMap<FastifyRequest, { self: string; bookmark: string }>();

function prefixesOf(request: FastifyRequest): { self: string; bookmark: string } {
  let found = prefixes.get(request);
  if (!found) {
    found = {
      self: join(rootUrl(request), 'v2.1', pathProjectId(request)),
      bookmark: join(rootUrl(request), pathProjectId(request)),
    };
    prefixes.set(request, found);
  }
  return found;
}

/** prefix/collection/id; plain concatenation when no part needs its slashes trimmed (the usual case). */
function under(prefix: string, collection: string, id: string): string {
  return isBare(collection) && isBare(id) ? `${prefix}/${collection}/${id}` : join(prefix, collection, id);
}

const SLASH = 47;

function isBare(part: string): boolean {
  return part !== '' && part.charCodeAt(0) !== SLASH && part.charCodeAt(part.length - 1) !== SLASH;
}

export function selfHref(request: FastifyRequest, collection: string, id: string): string {
  return under(prefixesOf(request).self, collection, id);
}

export function bookmarkHref(request: FastifyRequest, collection: string, id: string): string {
  return under(prefixesOf(request).bookmark, collection, id);
}

export function resourceLinks(request: FastifyRequest, collection: string, id: string): Link[] {
  return [
    { rel: 'self', href: selfHref(request, collection, id) },
    { rel: 'bookmark', href: bookmarkHref(request, collection, id) },
  ];
}

/** The `next` link of a full page: the caller's own query, sorted, with the marker set to the last item. */
export function nextHref(request: FastifyRequest, collection: string, marker: string): string {
  const params = new URL(request.url, 'http://x').searchParams;
  params.delete('marker');
  const entries = [...params.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = new URLSearchParams(entries);
  query.append('marker', marker);
  return `${join(rootUrl(request), 'v2.1', pathProjectId(request), collection)}?${query.toString()}`;
}
