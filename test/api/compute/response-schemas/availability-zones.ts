/**
 * Availability zones (Nova's availability zones API reference): the list has no hosts (null); the
 * detail (admins) lists each zone's hosts and their services.
 */
import { NULLABLE_TIMESTAMP, strictObject, type Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

function zones(hosts: Json): Json {
  return strictObject({
    availabilityZoneInfo: {
      type: 'array',
      items: strictObject({
        zoneName: { type: 'string' },
        zoneState: strictObject({ available: { type: 'boolean' } }),
        hosts,
      }),
    },
  });
}

const SERVICE_STATE = strictObject({
  available: { type: 'boolean' },
  active: { type: 'boolean' },
  updated_at: NULLABLE_TIMESTAMP,
});
const HOSTS: Json = {
  type: ['object', 'null'],
  additionalProperties: { type: 'object', additionalProperties: SERVICE_STATE },
};

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  { method: 'GET', path: '/os-availability-zone', status: 200, schema: zones({ type: 'null' }) },
  { method: 'GET', path: '/os-availability-zone/detail', status: 200, schema: zones(HOSTS) },
];
