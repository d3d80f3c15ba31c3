/**
 * limit/marker paging as Nova does it: the page size is capped by `[DEFAULT] osapi_max_limit`, and a page
 * that came back full carries a `next` link whose marker is its last item, so clients can walk the list.
 */
import type { FastifyRequest } from 'fastify';
import { BadRequest } from '../../common/errors.ts';
import { nextHref, type Link } from './links.ts';
import { queryValue, type Query } from './validate.ts';

export interface PageParams {
  limit: number;
  marker?: string;
}

export function pageParams(query: Query, maxLimit: number): PageParams {
  const rawLimit = queryValue(query, 'limit');
  let limit = maxLimit;
  if (rawLimit !== undefined) {
    if (!/^[0-9]+$/.test(rawLimit)) {
      throw new BadRequest(
        `Invalid input for query parameters limit. Value: ${rawLimit}. '${rawLimit}' does not match '^[0-9]*$'`,
      );
    }
    limit = Math.min(maxLimit, Number(rawLimit));
  }
  const marker = queryValue(query, 'marker');
  return marker === undefined ? { limit } : { limit, marker };
}

/** `[{rel: 'next', href}]` when the page is full, else []. */
export function collectionLinks(
  request: FastifyRequest,
  count: number,
  lastId: string | undefined,
  collection: string,
  maxLimit: number,
): Link[] {
  const rawLimit = queryValue(request.query as Query, 'limit');
  const pageSize = Math.min(rawLimit !== undefined ? Number(rawLimit) : maxLimit, maxLimit);
  if (!pageSize || pageSize !== count || lastId === undefined) return [];
  return [{ rel: 'next', href: nextHref(request, collection, lastId) }];
}
