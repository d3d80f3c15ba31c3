/**
 * The rebuild server action (Nova's API reference, servers-actions: rebuild): 202 with the server. Before
 * 2.75 the view of an update (no extended attributes), with key_name from 2.54; from 2.75 the view of
 * show. user_data is a key of its own from 2.57 (never OS-EXT-SRV-ATTR:user_data), and adminPass is
 * there unless [api] enable_instance_password is off.
 */
import { byVersion, strictObject, type Json } from './common.ts';
import { serverSchema } from './servers.ts';
import type { ResponseSchema } from './types.ts';

const BREAKS = [
  '2.1',
  '2.3',
  '2.9',
  '2.16',
  '2.19',
  '2.26',
  '2.47',
  '2.54',
  '2.57',
  '2.63',
  '2.71',
  '2.73',
  '2.75',
  '2.90',
  '2.96',
];

function rebuiltServer(at: (v: string) => boolean): Json {
  const server = structuredClone(serverSchema('update', at)) as { properties: Json; required: string[] };
  delete server.properties['OS-EXT-SRV-ATTR:user_data'];
  server.properties['adminPass'] = { type: 'string' };
  if (at('2.54')) {
    server.properties['key_name'] = { type: ['string', 'null'] };
    server.required.push('key_name');
  }
  if (at('2.57')) {
    server.properties['user_data'] = { type: ['string', 'null'], maxLength: 65535 };
    server.required.push('user_data');
  }
  return server as unknown as Json;
}

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = byVersion(BREAKS, (at) => ({
  method: 'POST',
  path: '/servers/:id/action',
  status: 202,
  schema: strictObject({ server: rebuiltServer(at) }),
}));
