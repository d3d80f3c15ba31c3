/**
 * A server's networking (Nova's API reference: servers-ips, os-interface, os-security-groups on
 * servers): the addresses by network with version and address only, the interface attachments, and
 * the server's security groups.
 */
import { NO_BODY, strictObject, type Json } from './common.ts';
import { addresses } from './servers.ts';
import type { ResponseSchema } from './types.ts';

const UUID: Json = { type: 'string', format: 'uuid' };

const INTERFACE_ATTACHMENT = (tagged: boolean): Json =>
  strictObject({
    fixed_ips: {
      type: 'array',
      items: strictObject({ ip_address: { type: 'string' }, subnet_id: UUID }),
    },
    mac_addr: { type: 'string' },
    net_id: UUID,
    port_id: UUID,
    port_state: { type: 'string' },
    ...(tagged ? { tag: { type: ['string', 'null'] } } : {}),
  });

const SECURITY_GROUP_RULE: Json = strictObject({
  from_port: { type: ['integer', 'null'] },
  group: { type: 'object' },
  id: UUID,
  ip_protocol: { type: ['string', 'null'] },
  ip_range: { type: 'object' },
  parent_group_id: UUID,
  to_port: { type: ['integer', 'null'] },
});

export const SECURITY_GROUP: Json = strictObject({
  description: { type: 'string' },
  id: UUID,
  name: { type: 'string' },
  rules: { type: 'array', items: SECURITY_GROUP_RULE },
  tenant_id: { type: 'string' },
});

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  { method: 'GET', path: '/servers/:id/ips', status: 200, schema: strictObject({ addresses: addresses(false) }) },
  { method: 'GET', path: '/servers/:id/ips/:label', status: 200, schema: addresses(false) },
  {
    method: 'GET',
    path: '/servers/:id/os-interface',
    status: 200,
    maxVersion: '2.69',
    schema: strictObject({ interfaceAttachments: { type: 'array', items: INTERFACE_ATTACHMENT(false) } }),
  },
  {
    method: 'GET',
    path: '/servers/:id/os-interface',
    status: 200,
    minVersion: '2.70',
    schema: strictObject({ interfaceAttachments: { type: 'array', items: INTERFACE_ATTACHMENT(true) } }),
  },
  {
    method: 'GET',
    path: '/servers/:id/os-interface/:port_id',
    status: 200,
    maxVersion: '2.69',
    schema: strictObject({ interfaceAttachment: INTERFACE_ATTACHMENT(false) }),
  },
  {
    method: 'GET',
    path: '/servers/:id/os-interface/:port_id',
    status: 200,
    minVersion: '2.70',
    schema: strictObject({ interfaceAttachment: INTERFACE_ATTACHMENT(true) }),
  },
  {
    method: 'POST',
    path: '/servers/:id/os-interface',
    status: 200,
    maxVersion: '2.69',
    schema: strictObject({ interfaceAttachment: INTERFACE_ATTACHMENT(false) }),
  },
  {
    method: 'POST',
    path: '/servers/:id/os-interface',
    status: 200,
    minVersion: '2.70',
    schema: strictObject({ interfaceAttachment: INTERFACE_ATTACHMENT(true) }),
  },
  { method: 'DELETE', path: '/servers/:id/os-interface/:port_id', status: 202, schema: NO_BODY },
  {
    method: 'GET',
    path: '/servers/:id/os-security-groups',
    status: 200,
    schema: strictObject({ security_groups: { type: 'array', items: SECURITY_GROUP } }),
  },
];
