/**
 * Servers (Nova's servers API reference): create, list, detail, show and update, microversion by
 * microversion. The views of show, detail and update differ: detail never has server_groups (2.71),
 * update leaves out the extended attributes before 2.75. Keys that Nova's policy shows to some callers
 * only (OS-EXT-SRV-ATTR:*, host_status) are allowed but not required; keys that depend on the server's
 * state (fault, progress) likewise.
 */
import {
  BOOKMARK_LINKS,
  byVersion,
  COLLECTION_LINKS,
  DATE_TIME,
  LINKS,
  NO_BODY,
  NULLABLE_NAIVE_DATE_TIME,
  strictObject,
  stringMap,
  UUID,
  type Json,
} from './common.ts';
import type { ResponseSchema } from './types.ts';

/** The versions at which some server view changes; each range between two gets its own schemas. */
const BREAKS = ['2.1', '2.3', '2.9', '2.16', '2.19', '2.26', '2.47', '2.63', '2.71', '2.73', '2.75', '2.90', '2.96'];

type View = 'show' | 'detail' | 'update';

const STATUSES = [
  'ACTIVE',
  'BUILD',
  'DELETED',
  'ERROR',
  'HARD_REBOOT',
  'MIGRATING',
  'PASSWORD',
  'PAUSED',
  'REBOOT',
  'REBUILD',
  'RESCUE',
  'RESIZE',
  'REVERT_RESIZE',
  'SHELVED',
  'SHELVED_OFFLOADED',
  'SHUTOFF',
  'SOFT_DELETED',
  'SUSPENDED',
  'UNKNOWN',
  'VERIFY_RESIZE',
];

const IPV4_OR_EMPTY: Json = { type: 'string', anyOf: [{ format: 'ipv4' }, { const: '' }] };
const IPV6_OR_EMPTY: Json = { type: 'string', anyOf: [{ format: 'ipv6' }, { const: '' }] };

export function addresses(extended: boolean): Json {
  const address: Json = {
    addr: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
    version: { enum: [4, 6] },
  };
  if (extended) {
    address['OS-EXT-IPS:type'] = { enum: ['fixed', 'floating'] };
    address['OS-EXT-IPS-MAC:mac_addr'] = { type: 'string' };
  }
  return { type: 'object', additionalProperties: { type: 'array', items: strictObject(address) } };
}

const FAULT = strictObject(
  { code: { type: 'integer' }, created: DATE_TIME, message: { type: 'string' }, details: { type: 'string' } },
  ['code', 'created', 'message'],
);

const IMAGE: Json = {
  anyOf: [{ const: '' }, strictObject({ id: UUID, links: BOOKMARK_LINKS })],
};

const FLAVOR_LINK = strictObject({ id: { type: 'string' }, links: BOOKMARK_LINKS });
const FLAVOR_EMBEDDED = strictObject(
  {
    vcpus: { type: 'integer' },
    ram: { type: 'integer' },
    disk: { type: 'integer' },
    ephemeral: { type: 'integer' },
    swap: { type: 'integer' },
    original_name: { type: 'string' },
    extra_specs: stringMap(),
  },
  ['vcpus', 'ram', 'disk', 'ephemeral', 'swap', 'original_name'],
);

function volumesAttached(at: (v: string) => boolean): Json {
  const item = at('2.3')
    ? strictObject({ id: { type: 'string' }, delete_on_termination: { type: 'boolean' } })
    : strictObject({ id: { type: 'string' } });
  return { type: 'array', items: item };
}

/** The server of a view at the version `at` stands for. */
export function serverSchema(view: View, at: (v: string) => boolean): Json {
  const properties: Json = {
    id: UUID,
    name: { type: ['string', 'null'] },
    status: { enum: STATUSES },
    tenant_id: { type: 'string' },
    user_id: { type: 'string' },
    metadata: stringMap(),
    hostId: { type: 'string' },
    image: IMAGE,
    flavor: at('2.47') ? FLAVOR_EMBEDDED : FLAVOR_LINK,
    created: DATE_TIME,
    updated: DATE_TIME,
    addresses: addresses(view !== 'update' || at('2.75')),
    accessIPv4: IPV4_OR_EMPTY,
    accessIPv6: IPV6_OR_EMPTY,
    links: LINKS,
    'OS-DCF:diskConfig': { enum: ['AUTO', 'MANUAL'] },
    fault: FAULT,
    progress: { type: ['integer', 'null'] },
  };
  const required = [
    'id',
    'name',
    'status',
    'tenant_id',
    'user_id',
    'metadata',
    'hostId',
    'image',
    'flavor',
    'created',
    'updated',
    'addresses',
    'accessIPv4',
    'accessIPv6',
    'links',
    'OS-DCF:diskConfig',
  ];
  const extended = view !== 'update' || at('2.75');
  if (extended) {
    Object.assign(properties, {
      'OS-EXT-AZ:availability_zone': { type: 'string' },
      config_drive: { enum: ['', 'True', 'False', null] },
      key_name: { type: ['string', 'null'] },
      'OS-SRV-USG:launched_at': NULLABLE_NAIVE_DATE_TIME,
      'OS-SRV-USG:terminated_at': NULLABLE_NAIVE_DATE_TIME,
      'OS-EXT-STS:task_state': { type: ['string', 'null'] },
      'OS-EXT-STS:vm_state': { type: ['string', 'null'] },
      'OS-EXT-STS:power_state': { enum: [0, 1, 3, 4, 6, 7, null] },
      'os-extended-volumes:volumes_attached': volumesAttached(at),
      security_groups: { type: 'array', items: strictObject({ name: { type: 'string' } }) },
      // Admins only, by Nova's default policy.
      'OS-EXT-SRV-ATTR:host': { type: ['string', 'null'] },
      'OS-EXT-SRV-ATTR:instance_name': { type: 'string' },
      'OS-EXT-SRV-ATTR:hypervisor_hostname': { type: ['string', 'null'] },
    });
    required.push(
      'OS-EXT-AZ:availability_zone',
      'config_drive',
      'OS-SRV-USG:launched_at',
      'OS-SRV-USG:terminated_at',
      'OS-EXT-STS:task_state',
      'OS-EXT-STS:vm_state',
      'OS-EXT-STS:power_state',
      'os-extended-volumes:volumes_attached',
    );
    // Nova's update response (2.75 on) does not promise key_name; show and detail always have it.
    if (view !== 'update') required.push('key_name');
    if (at('2.3')) {
      Object.assign(properties, {
        'OS-EXT-SRV-ATTR:hostname': { type: 'string' },
        'OS-EXT-SRV-ATTR:kernel_id': { type: ['string', 'null'] },
        'OS-EXT-SRV-ATTR:launch_index': { type: ['integer', 'null'] },
        'OS-EXT-SRV-ATTR:ramdisk_id': { type: ['string', 'null'] },
        'OS-EXT-SRV-ATTR:reservation_id': { type: ['string', 'null'] },
        'OS-EXT-SRV-ATTR:root_device_name': { type: ['string', 'null'] },
        'OS-EXT-SRV-ATTR:user_data': { type: ['string', 'null'] },
      });
    }
    if (at('2.16')) properties['host_status'] = { enum: ['UP', 'DOWN', 'MAINTENANCE', 'UNKNOWN', ''] };
  }
  if (at('2.9')) {
    properties['locked'] = { type: 'boolean' };
    required.push('locked');
  }
  if (at('2.19')) {
    properties['description'] = { type: ['string', 'null'] };
    required.push('description');
  }
  if (at('2.26')) {
    properties['tags'] = { type: 'array', items: { type: 'string' }, maxItems: 50 };
    required.push('tags');
  }
  if (at('2.63')) {
    properties['trusted_image_certificates'] = { type: ['array', 'null'], items: { type: 'string' } };
    required.push('trusted_image_certificates');
  }
  if (at('2.71') && view !== 'detail') {
    properties['server_groups'] = { type: 'array', items: UUID, maxItems: 1 };
    required.push('server_groups');
  }
  if (at('2.73')) {
    properties['locked_reason'] = { type: ['string', 'null'] };
    required.push('locked_reason');
  }
  if (at('2.90')) required.push('OS-EXT-SRV-ATTR:hostname');
  if (at('2.96')) {
    properties['pinned_availability_zone'] = { type: ['string', 'null'] };
    required.push('pinned_availability_zone');
  }
  return strictObject(properties, required);
}

const CREATED_SERVER = strictObject(
  {
    id: UUID,
    links: LINKS,
    'OS-DCF:diskConfig': { enum: ['AUTO', 'MANUAL'] },
    security_groups: { type: 'array', items: strictObject({ name: { type: 'string' } }) },
    // Present when [api] enable_instance_password is on, as it is by default.
    adminPass: { type: 'string' },
  },
  ['id', 'links', 'OS-DCF:diskConfig', 'security_groups'],
);

const INDEX = strictObject(
  {
    servers: { type: 'array', items: strictObject({ id: UUID, name: { type: 'string' }, links: LINKS }) },
    servers_links: COLLECTION_LINKS,
  },
  ['servers'],
);

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  {
    method: 'POST',
    path: '/servers',
    status: 202,
    schema: { anyOf: [strictObject({ server: CREATED_SERVER }), strictObject({ reservation_id: { type: 'string' } })] },
  },
  { method: 'GET', path: '/servers', status: 200, schema: INDEX },
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/servers/detail',
    status: 200,
    schema: strictObject(
      { servers: { type: 'array', items: serverSchema('detail', at) }, servers_links: COLLECTION_LINKS },
      ['servers'],
    ),
  })),
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/servers/:id',
    status: 200,
    schema: strictObject({ server: serverSchema('show', at) }),
  })),
  ...byVersion(BREAKS, (at) => ({
    method: 'PUT',
    path: '/servers/:id',
    status: 200,
    schema: strictObject({ server: serverSchema('update', at) }),
  })),
  { method: 'DELETE', path: '/servers/:id', status: 204, schema: NO_BODY },
];
