/**
 * Host aggregates (Nova's host aggregates API reference): uuid from 2.41. The create response has no
 * hosts and no metadata; show, update and the actions (add_host, remove_host, set_metadata) have both.
 */
import { byVersion, NO_BODY, NULLABLE_TIMESTAMP, strictObject, TIMESTAMP, UUID, type Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

const BREAKS = ['2.1', '2.41'];

function aggregate(at: (v: string) => boolean, created: boolean): Json {
  const properties: Json = {
    id: { type: 'integer' },
    name: { type: 'string' },
    availability_zone: { type: ['string', 'null'] },
    created_at: TIMESTAMP,
    updated_at: NULLABLE_TIMESTAMP,
    deleted_at: NULLABLE_TIMESTAMP,
    deleted: { type: 'boolean' },
  };
  if (!created) {
    properties['hosts'] = { type: ['array', 'null'], items: { type: 'string' } };
    properties['metadata'] = { type: ['object', 'null'], additionalProperties: { type: 'string' } };
  }
  if (at('2.41')) properties['uuid'] = UUID;
  return strictObject(properties);
}

const one = (path: string, method: ResponseSchema['method'], created = false) =>
  byVersion(BREAKS, (at) => ({
    method,
    path,
    status: 200,
    schema: strictObject({ aggregate: aggregate(at, created) }),
  }));

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/os-aggregates',
    status: 200,
    schema: strictObject({ aggregates: { type: 'array', items: aggregate(at, false) } }),
  })),
  ...one('/os-aggregates', 'POST', true),
  ...one('/os-aggregates/:id', 'GET'),
  ...one('/os-aggregates/:id', 'PUT'),
  ...one('/os-aggregates/:id/action', 'POST'),
  { method: 'DELETE', path: '/os-aggregates/:id', status: 200, schema: NO_BODY },
];
