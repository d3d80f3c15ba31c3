/**
 * Compute services (Nova's compute services API reference): forced_down from 2.11, uuid ids from 2.53,
 * where PUT /os-services/{id} (which replaced the enable/disable/force-down actions) answers with the
 * whole service. Before 2.53 the {id} of PUT is the action (enable, disable, disable-log-reason,
 * force-down), which answers with the fields it changed.
 */
import { byVersion, NO_BODY, NULLABLE_TIMESTAMP, strictObject, UUID, type Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

const BREAKS = ['2.1', '2.11', '2.53'];

function service(at: (v: string) => boolean): Json {
  const properties: Json = {
    id: at('2.53') ? UUID : { type: 'integer' },
    binary: { type: 'string' },
    host: { type: 'string' },
    zone: { type: 'string' },
    status: { enum: ['enabled', 'disabled'] },
    state: { enum: ['up', 'down'] },
    updated_at: NULLABLE_TIMESTAMP,
    disabled_reason: { type: ['string', 'null'] },
  };
  if (at('2.11')) properties['forced_down'] = { type: 'boolean' };
  return strictObject(properties);
}

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/os-services',
    status: 200,
    schema: strictObject({ services: { type: 'array', items: service(at) } }),
  })),
  ...byVersion(BREAKS.slice(2), (at) => ({
    method: 'PUT',
    path: '/os-services/:id',
    status: 200,
    schema: strictObject({ service: service(at) }),
  })),
  {
    method: 'PUT',
    path: '/os-services/:id',
    status: 200,
    maxVersion: '2.52',
    schema: strictObject({
      service: {
        anyOf: [
          strictObject(
            {
              host: { type: 'string' },
              binary: { type: 'string' },
              status: { enum: ['enabled', 'disabled'] },
              disabled_reason: { type: ['string', 'null'] },
            },
            ['host', 'binary', 'status'],
          ),
          strictObject({ host: { type: 'string' }, binary: { type: 'string' }, forced_down: { type: 'boolean' } }),
        ],
      },
    }),
  },
  { method: 'DELETE', path: '/os-services/:id', status: 204, schema: NO_BODY },
];
