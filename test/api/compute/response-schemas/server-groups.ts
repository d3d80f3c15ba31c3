/**
 * Server groups (Nova's server groups API reference): project_id and user_id from 2.13, and from 2.64
 * `policy` and `rules` instead of `policies` and `metadata`. The soft policies can be asked for from
 * 2.15 only, but a group that has one shows it at every version (Nova's view does not hide it; only
 * its test schema assumes no such group exists below 2.15).
 */
import { byVersion, NO_BODY, strictObject, UUID, type Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

const BREAKS = ['2.1', '2.13', '2.15', '2.64'];

function group(at: (v: string) => boolean): Json {
  const policies = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'];
  const properties: Json = { id: UUID, name: { type: 'string' }, members: { type: 'array', items: UUID } };
  if (at('2.64')) {
    properties['policy'] = { enum: policies };
    properties['rules'] = strictObject({ max_server_per_host: { type: 'integer' } }, []);
  } else {
    properties['policies'] = { type: 'array', items: { enum: policies }, maxItems: 1 };
    properties['metadata'] = strictObject({}, []);
  }
  if (at('2.13')) {
    properties['project_id'] = { type: 'string' };
    properties['user_id'] = { type: 'string' };
  }
  return strictObject(properties);
}

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/os-server-groups',
    status: 200,
    schema: strictObject({ server_groups: { type: 'array', items: group(at) } }),
  })),
  ...byVersion(BREAKS, (at) => ({
    method: 'POST',
    path: '/os-server-groups',
    status: 200,
    schema: strictObject({ server_group: group(at) }),
  })),
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/os-server-groups/:id',
    status: 200,
    schema: strictObject({ server_group: group(at) }),
  })),
  { method: 'DELETE', path: '/os-server-groups/:id', status: 204, schema: NO_BODY },
];
