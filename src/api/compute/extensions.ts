/**
 * Stratus's own additions to Nova's bodies, which a client gets only when it asks with the request
 * header `Stratus-Extensions: <name>[, <name>...]`. Nova's bodies carry exactly Nova's keys, so a strict
 * client (one that refuses keys it does not know) keeps working; a stock client never sends this header.
 * Stratus's additions never take a Nova microversion number either: Nova will use every number for
 * changes of its own, and a client asking for that number would then get a different API.
 *
 * Known extensions:
 * - `storage-tier`: server views (show, detail, update, rebuild) carry `STRATUS-EXT-STORAGE:tier`, and
 *   POST /servers accepts `instance_disk_type` (servers/storage-tier.ts); hypervisor detail views
 *   carry `STRATUS-EXT-STORAGE:pools`, each storage pool's tier, capacity and use in placement.
 *
 * An unknown name is a 400, so that a typo is not silently a request without the extension.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadRequest } from '../../common/errors.ts';

export const EXTENSIONS_HEADER = 'Stratus-Extensions';
export const STRATUS_EXTENSIONS = ['storage-tier'] as const;
export type StratusExtension = (typeof STRATUS_EXTENSIONS)[number];

declare module 'fastify' {
  interface FastifyRequest {
    /** The Stratus extensions the request asked for; set on every route under /v2.1. */
    stratusExtensions: ReadonlySet<StratusExtension>;
  }
}

const NONE: ReadonlySet<StratusExtension> = new Set();

function isKnown(name: string): name is StratusExtension {
  return (STRATUS_EXTENSIONS as readonly string[]).includes(name);
}

/** The names of the header (comma-separated, case-insensitive, repeated headers joined). */
export function parseExtensions(header: string | string[] | undefined): ReadonlySet<StratusExtension> {
  if (header === undefined) return NONE;
  const names = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !isKnown(n));
  if (unknown.length) {
    throw new BadRequest(
      `Unknown Stratus extension ${unknown.map((n) => `'${n}'`).join(', ')} in the ${EXTENSIONS_HEADER} header; ` +
        `known: ${STRATUS_EXTENSIONS.join(', ')}.`,
    );
  }
  return new Set(names as StratusExtension[]);
}

/** preHandler of the versioned routes, after microversionHook: reads the header; caches vary on it. */
export async function extensionsHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  request.stratusExtensions = parseExtensions(request.headers[EXTENSIONS_HEADER.toLowerCase()]);
  const vary = reply.getHeader('Vary');
  void reply.header('Vary', vary ? `${String(vary)}, ${EXTENSIONS_HEADER}` : EXTENSIONS_HEADER);
}

export function wantsExtension(request: FastifyRequest, name: StratusExtension): boolean {
  return request.stratusExtensions.has(name);
}
