/**
 * Strict response schemas of the operator APIs: usage, the usage audit log, external events,
 * migrations, console tokens, hypervisor uptime, the APIs Nova removed at a later version (os-hosts,
 * the images, network and volume proxies) and those it removed outright (every answer a 410 fault).
 * Written from Nova's API reference and samples.
 */
import { GONE_ROUTES } from '../../../../src/api/compute/legacy/gone.ts';
import { NO_BODY } from './common.ts';
import { faultSchema } from './errors.ts';
import type { ResponseSchema } from './types.ts';

type Schema = Record<string, unknown>;

function object(properties: Record<string, Schema>, optional: readonly string[] = []): Schema {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    additionalProperties: false,
  };
}

function array(items: Schema): Schema {
  return { type: 'array', items };
}

const str: Schema = { type: 'string' };
const nullableStr: Schema = { type: ['string', 'null'] };
const int: Schema = { type: 'integer' };
const nullableInt: Schema = { type: ['integer', 'null'] };
const num: Schema = { type: 'number', minimum: 0 };
const uuid: Schema = { type: 'string', format: 'uuid' };
/** A naive datetime as Python prints it: `2026-11-21T09:38:55` or with `.ffffff`. */
const naiveDateTime: Schema = { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{6})?$' };
const link: Schema = object({ rel: str, href: str });
const links: Schema = array(link);
const nextLinks: Schema = array(object({ rel: { const: 'next' }, href: str }));

// os-simple-tenant-usage

const SERVER_STATES = [
  'active',
  'building',
  'error',
  'paused',
  'rescued',
  'resized',
  'shelved',
  'shelved_offloaded',
  'stopped',
  'suspended',
  'terminated',
];

const serverUsage = object({
  ended_at: { type: ['string', 'null'], pattern: naiveDateTime['pattern'] as string },
  flavor: str,
  hours: num,
  instance_id: uuid,
  local_gb: { type: 'integer', minimum: 0 },
  memory_mb: { type: 'integer', minimum: 1 },
  name: str,
  started_at: naiveDateTime,
  state: { type: 'string', enum: SERVER_STATES },
  tenant_id: str,
  uptime: { type: 'integer', minimum: 0 },
  vcpus: { type: 'integer', minimum: 1 },
});

function tenantUsage(withServers: 'always' | 'optional'): Schema {
  return object(
    {
      server_usages: array(serverUsage),
      start: naiveDateTime,
      stop: naiveDateTime,
      tenant_id: str,
      total_hours: num,
      total_local_gb_usage: num,
      total_memory_mb_usage: num,
      total_vcpus_usage: num,
    },
    withServers === 'optional' ? ['server_usages'] : [],
  );
}

const emptyObject = object({});

// os-instance_usage_audit_log

/** Python's str() of a datetime: `2026-06-01 00:00:00`. */
const pythonDateTime: Schema = { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{6})?$' };
const count: Schema = { type: 'integer', minimum: 0 };
const auditLog = object({
  hosts_not_run: array(str),
  log: {
    type: 'object',
    additionalProperties: object({
      instances: count,
      errors: count,
      message: str,
      state: { type: 'string', enum: ['RUNNING', 'DONE'] },
    }),
  },
  num_hosts: count,
  num_hosts_done: count,
  num_hosts_not_run: count,
  num_hosts_running: count,
  overall_status: str,
  period_beginning: pythonDateTime,
  period_ending: pythonDateTime,
  total_errors: count,
  total_instances: count,
});

// os-server-external-events

function eventNames(version: '2.1' | '2.51' | '2.76' | '2.82' | '2.93'): string[] {
  const names = ['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted'];
  const added: [string, string][] = [
    ['2.51', 'volume-extended'],
    ['2.76', 'power-update'],
    ['2.82', 'accelerator-request-bound'],
    ['2.93', 'volume-reimaged'],
  ];
  for (const [at, name] of added) if (Number(at.split('.')[1]) <= Number(version.split('.')[1])) names.push(name);
  return names;
}

function eventsResponse(version: '2.1' | '2.51' | '2.76' | '2.82' | '2.93'): Schema {
  return object({
    events: array(
      object(
        {
          code: { type: 'integer', enum: [200, 400, 404, 422] },
          name: { type: 'string', enum: eventNames(version) },
          server_uuid: uuid,
          status: { type: 'string', enum: ['failed', 'completed', 'in-progress'] },
          tag: { type: 'string', maxLength: 255 },
        },
        ['tag'],
      ),
    ),
  });
}

const eventVersions: [string, string | undefined, '2.1' | '2.51' | '2.76' | '2.82' | '2.93'][] = [
  ['2.1', '2.50', '2.1'],
  ['2.51', '2.75', '2.51'],
  ['2.76', '2.81', '2.76'],
  ['2.82', '2.92', '2.82'],
  ['2.93', undefined, '2.93'],
];

// os-migrations

const migrationBase = {
  created_at: naiveDateTime,
  dest_compute: nullableStr,
  dest_host: nullableStr,
  dest_node: nullableStr,
  id: int,
  instance_uuid: uuid,
  new_instance_type_id: nullableInt,
  old_instance_type_id: nullableInt,
  source_compute: nullableStr,
  source_node: nullableStr,
  status: str,
  updated_at: { type: ['string', 'null'], pattern: naiveDateTime['pattern'] as string },
};
const migrationType: Schema = { type: 'string', enum: ['migration', 'resize', 'live-migration', 'evacuation'] };

function migrations(version: '2.1' | '2.23' | '2.59' | '2.80'): Schema {
  const properties: Record<string, Schema> = { ...migrationBase };
  const optional: string[] = [];
  if (version !== '2.1') {
    properties['migration_type'] = migrationType;
    properties['links'] = links;
    optional.push('links');
  }
  if (version === '2.59' || version === '2.80') properties['uuid'] = uuid;
  if (version === '2.80') {
    properties['user_id'] = nullableStr;
    properties['project_id'] = nullableStr;
  }
  const body: Record<string, Schema> = { migrations: array(object(properties, optional)) };
  if (version === '2.59' || version === '2.80') body['migrations_links'] = nextLinks;
  return object(body, ['migrations_links']);
}

/** One in-progress migration of a server as servers/{id}/migrations lists and shows it. */
function serverMigration(version: '2.23' | '2.59' | '2.80'): Schema {
  const progress = { type: ['integer', 'null'] };
  const properties: Record<string, Schema> = {
    created_at: naiveDateTime,
    dest_compute: nullableStr,
    dest_host: nullableStr,
    dest_node: nullableStr,
    disk_processed_bytes: progress,
    disk_remaining_bytes: progress,
    disk_total_bytes: progress,
    id: int,
    memory_processed_bytes: progress,
    memory_remaining_bytes: progress,
    memory_total_bytes: progress,
    server_uuid: uuid,
    source_compute: nullableStr,
    source_node: nullableStr,
    status: str,
    updated_at: migrationBase.updated_at,
  };
  if (version !== '2.23') properties['uuid'] = uuid;
  if (version === '2.80') {
    properties['user_id'] = nullableStr;
    properties['project_id'] = nullableStr;
  }
  return object(properties);
}

// os-hypervisors/{id}/uptime

function uptime(idType: Schema): Schema {
  return object({
    hypervisor: object({
      id: idType,
      hypervisor_hostname: str,
      state: { type: 'string', enum: ['up', 'down'] },
      status: { type: 'string', enum: ['enabled', 'disabled'] },
      uptime: str,
    }),
  });
}

// os-hosts

const hostResource = object({
  resource: object({ host: str, project: str, cpu: count, memory_mb: count, disk_gb: count }),
});

// images proxy

const imageLinks: Schema = array(object({ rel: str, href: str, type: str }, ['type']));
const imageDetail = object(
  {
    id: uuid,
    name: nullableStr,
    minRam: count,
    minDisk: count,
    metadata: { type: 'object', additionalProperties: str },
    created: { type: 'string', format: 'date-time' },
    updated: { type: ['string', 'null'], format: 'date-time' },
    status: { type: 'string', enum: ['ACTIVE', 'SAVING', 'DELETED', 'ERROR', 'UNKNOWN'] },
    progress: { type: 'integer', enum: [0, 25, 50, 100] },
    'OS-EXT-IMG-SIZE:size': nullableInt,
    links: imageLinks,
    server: object({ id: uuid, links }),
    'OS-DCF:diskConfig': { type: 'string', enum: ['AUTO', 'MANUAL'] },
  },
  ['server', 'OS-DCF:diskConfig'],
);
const metadata: Schema = { type: 'object', additionalProperties: str };
const singleMeta: Schema = { type: 'object', additionalProperties: str, minProperties: 1, maxProperties: 1 };

// the network and volume proxies (up to 2.35): what Nova relays from Neutron and Cinder

/** nova-network's network as os-networks shows it: the admin-only keys may be left out. */
const network = object(
  Object.fromEntries([
    ...['bridge', 'bridge_interface', 'broadcast', 'cidr', 'cidr_v6', 'created_at', 'deleted', 'deleted_at']
      .concat(['dhcp_server', 'dhcp_start', 'dns1', 'dns2', 'enable_dhcp', 'gateway', 'gateway_v6', 'host'])
      .concat(['injected', 'multi_host', 'netmask', 'netmask_v6', 'priority', 'project_id', 'rxtx_base'])
      .concat(['share_address', 'updated_at', 'vlan', 'vpn_private_address', 'vpn_public_address'])
      .map((key): [string, Schema] => [key, nullableStr]),
    ['id', str],
    ['label', str],
    ['mtu', nullableInt],
    ['vpn_public_port', nullableInt],
  ]),
  [
    'bridge',
    'bridge_interface',
    'created_at',
    'deleted',
    'deleted_at',
    'dhcp_server',
    'dhcp_start',
    'enable_dhcp',
    'host',
    'injected',
    'multi_host',
    'mtu',
    'priority',
    'project_id',
    'rxtx_base',
    'share_address',
    'updated_at',
    'vlan',
    'vpn_private_address',
    'vpn_public_address',
    'vpn_public_port',
  ],
);
/** A tenant network: Neutron's cidr, or the string 'None' for a network without a subnet. */
const tenantNetwork = object({
  cidr: { anyOf: [{ const: 'None' }, { type: 'string', pattern: '^[0-9a-fA-F.:]+/\\d{1,3}$' }] },
  id: uuid,
  label: str,
});
const securityGroupRule = object({
  from_port: { type: ['integer', 'null'], minimum: -1 },
  group: object({ name: str, tenant_id: str }, ['name', 'tenant_id']),
  id: uuid,
  ip_protocol: nullableStr,
  ip_range: object({ cidr: str }, ['cidr']),
  parent_group_id: uuid,
  to_port: { type: ['integer', 'null'], minimum: -1 },
});
const securityGroup = object({
  description: nullableStr,
  id: uuid,
  name: str,
  rules: array(securityGroupRule),
  tenant_id: str,
});
const ipAddress: Schema = { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] };
const floatingIp = object({
  fixed_ip: { anyOf: [ipAddress, { type: 'null' }] },
  id: uuid,
  instance_id: { anyOf: [uuid, { type: 'null' }] },
  ip: ipAddress,
  pool: str,
});
/** Cinder's volume statuses as Nova relays them. */
const VOLUME_STATUSES = [
  'creating',
  'available',
  'deleting',
  'error',
  'error_deleting',
  'attaching',
  'in-use',
  'detaching',
  'maintenance',
  'restoring-backup',
  'error_restoring',
  'reserved',
  'awaiting-transfer',
  'backing-up',
  'error_backing-up',
  'error_extending',
  'downloading',
  'uploading',
  'retyping',
  'extending',
];
/** Cinder's snapshot statuses as Nova relays them. */
const SNAPSHOT_STATUSES = [
  'error',
  'available',
  'creating',
  'deleting',
  'deleted',
  'error_deleting',
  'unmanaging',
  'backing-up',
  'restoring',
];
const volume = object({
  /** Attachments, or Nova's one empty object for a volume attached nowhere. */
  attachments: {
    anyOf: [
      array(object({ id: uuid, device: str, serverId: uuid, volumeId: uuid }, ['device'])),
      { type: 'array', minItems: 1, maxItems: 1, items: object({}) },
    ],
  },
  availabilityZone: nullableStr,
  // Naive, as Nova's samples show Cinder's times.
  createdAt: naiveDateTime,
  displayDescription: nullableStr,
  displayName: nullableStr,
  id: uuid,
  metadata,
  size: int,
  snapshotId: { anyOf: [uuid, { type: 'null' }] },
  status: { type: 'string', enum: VOLUME_STATUSES },
  volumeType: nullableStr,
});
const snapshot = object({
  // Naive, as Nova's samples show Cinder's times.
  createdAt: naiveDateTime,
  displayDescription: nullableStr,
  displayName: nullableStr,
  id: uuid,
  volumeId: uuid,
  size: int,
  status: { type: 'string', enum: SNAPSHOT_STATUSES },
});

/** An entry of a proxy up to 2.35 (MAX_PROXY_API_SUPPORT_VERSION). */
function proxy(method: ResponseSchema['method'], path: string, status: number, schema: Schema): ResponseSchema {
  return { method, path, status, maxVersion: '2.35', schema };
}

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  {
    method: 'GET',
    path: '/os-simple-tenant-usage',
    status: 200,
    maxVersion: '2.39',
    schema: object({ tenant_usages: array(tenantUsage('optional')) }),
  },
  {
    method: 'GET',
    path: '/os-simple-tenant-usage',
    status: 200,
    minVersion: '2.40',
    schema: object({ tenant_usages: array(tenantUsage('optional')), tenant_usages_links: nextLinks }, [
      'tenant_usages_links',
    ]),
  },
  {
    method: 'GET',
    path: '/os-simple-tenant-usage/:tenant_id',
    status: 200,
    maxVersion: '2.39',
    schema: object({ tenant_usage: { oneOf: [tenantUsage('always'), emptyObject] } }),
  },
  {
    method: 'GET',
    path: '/os-simple-tenant-usage/:tenant_id',
    status: 200,
    minVersion: '2.40',
    schema: object({ tenant_usage: { oneOf: [tenantUsage('always'), emptyObject] }, tenant_usage_links: nextLinks }, [
      'tenant_usage_links',
    ]),
  },
  {
    method: 'GET',
    path: '/os-instance_usage_audit_log',
    status: 200,
    schema: object({ instance_usage_audit_logs: auditLog }),
  },
  {
    method: 'GET',
    path: '/os-instance_usage_audit_log/:before',
    status: 200,
    schema: object({ instance_usage_audit_log: auditLog }),
  },
  ...eventVersions.flatMap(([minVersion, maxVersion, names]) =>
    [200, 207].map((status): ResponseSchema => ({
      method: 'POST',
      path: '/os-server-external-events',
      status,
      minVersion,
      ...(maxVersion ? { maxVersion } : {}),
      schema: eventsResponse(names),
    })),
  ),
  { method: 'GET', path: '/os-migrations', status: 200, maxVersion: '2.22', schema: migrations('2.1') },
  // force_complete (2.22) and abort (2.24) of a live migration: 202, no body.
  {
    method: 'POST',
    path: '/servers/:id/migrations/:migration_id/action',
    status: 202,
    minVersion: '2.22',
    schema: NO_BODY,
  },
  { method: 'DELETE', path: '/servers/:id/migrations/:migration_id', status: 202, minVersion: '2.24', schema: NO_BODY },
  {
    method: 'GET',
    path: '/os-migrations',
    status: 200,
    minVersion: '2.23',
    maxVersion: '2.58',
    schema: migrations('2.23'),
  },
  {
    method: 'GET',
    path: '/os-migrations',
    status: 200,
    minVersion: '2.59',
    maxVersion: '2.79',
    schema: migrations('2.59'),
  },
  { method: 'GET', path: '/os-migrations', status: 200, minVersion: '2.80', schema: migrations('2.80') },
  {
    method: 'GET',
    path: '/servers/:id/migrations',
    status: 200,
    minVersion: '2.23',
    maxVersion: '2.58',
    schema: object({ migrations: array(serverMigration('2.23')) }),
  },
  {
    method: 'GET',
    path: '/servers/:id/migrations',
    status: 200,
    minVersion: '2.59',
    maxVersion: '2.79',
    schema: object({ migrations: array(serverMigration('2.59')) }),
  },
  {
    method: 'GET',
    path: '/servers/:id/migrations',
    status: 200,
    minVersion: '2.80',
    schema: object({ migrations: array(serverMigration('2.80')) }),
  },
  {
    method: 'GET',
    path: '/os-console-auth-tokens/:token',
    status: 200,
    minVersion: '2.31',
    schema: object({
      console: object({
        instance_uuid: uuid,
        host: str,
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        internal_access_path: nullableStr,
      }),
    }),
  },
  {
    method: 'GET',
    path: '/os-hypervisors/:id/uptime',
    status: 200,
    maxVersion: '2.52',
    schema: uptime(int),
  },
  {
    method: 'GET',
    path: '/os-hypervisors/:id/uptime',
    status: 200,
    minVersion: '2.53',
    maxVersion: '2.87',
    schema: uptime(uuid),
  },
  {
    method: 'GET',
    path: '/os-hosts',
    status: 200,
    maxVersion: '2.42',
    schema: object({ hosts: array(object({ host_name: str, service: str, zone: str })) }),
  },
  {
    method: 'GET',
    path: '/os-hosts/:host',
    status: 200,
    maxVersion: '2.42',
    schema: object({ host: array(hostResource) }),
  },
  {
    method: 'PUT',
    path: '/os-hosts/:host',
    status: 200,
    maxVersion: '2.42',
    schema: object(
      {
        host: str,
        status: { type: 'string', enum: ['enabled', 'disabled'] },
        maintenance_mode: { type: 'string', enum: ['on_maintenance', 'off_maintenance'] },
      },
      ['status', 'maintenance_mode'],
    ),
  },
  {
    method: 'GET',
    path: '/images',
    status: 200,
    maxVersion: '2.35',
    schema: object(
      { images: array(object({ id: uuid, name: nullableStr, links: imageLinks })), images_links: nextLinks },
      ['images_links'],
    ),
  },
  {
    method: 'GET',
    path: '/images/detail',
    status: 200,
    maxVersion: '2.35',
    schema: object({ images: array(imageDetail), images_links: nextLinks }, ['images_links']),
  },
  { method: 'GET', path: '/images/:id', status: 200, maxVersion: '2.35', schema: object({ image: imageDetail }) },
  {
    method: 'GET',
    path: '/images/:id/metadata',
    status: 200,
    maxVersion: '2.38',
    schema: object({ metadata }),
  },
  {
    method: 'POST',
    path: '/images/:id/metadata',
    status: 200,
    maxVersion: '2.38',
    schema: object({ metadata }),
  },
  {
    method: 'PUT',
    path: '/images/:id/metadata',
    status: 200,
    maxVersion: '2.38',
    schema: object({ metadata }),
  },
  {
    method: 'GET',
    path: '/images/:id/metadata/:key',
    status: 200,
    maxVersion: '2.38',
    schema: object({ meta: singleMeta }),
  },
  {
    method: 'PUT',
    path: '/images/:id/metadata/:key',
    status: 200,
    maxVersion: '2.38',
    schema: object({ meta: singleMeta }),
  },
  proxy('GET', '/os-networks', 200, object({ networks: array(network) })),
  proxy('GET', '/os-tenant-networks', 200, object({ networks: array(tenantNetwork) })),
  proxy('GET', '/os-security-groups', 200, object({ security_groups: array(securityGroup) })),
  proxy('GET', '/os-floating-ip-pools', 200, object({ floating_ip_pools: array(object({ name: str })) })),
  ...(
    [
      ['/os-floating-ips', 'floating_ips'],
      ['/os-volumes', 'volumes'],
      ['/os-volumes/detail', 'volumes'],
      ['/os-snapshots', 'snapshots'],
      ['/os-snapshots/detail', 'snapshots'],
    ] as const
  ).map(([path, key]): ResponseSchema => ({
    method: 'GET',
    path,
    status: 200,
    maxVersion: '2.35',
    // With no floating IP reads or volume service behind them the lists are always empty.
    schema: object({ [key]: { type: 'array', maxItems: 0 } }),
  })),
  ...(
    [
      ['2.23', '2.58'],
      ['2.59', '2.79'],
      ['2.80', undefined],
    ] as const
  ).map(([minVersion, maxVersion]): ResponseSchema => ({
    method: 'GET',
    path: '/servers/:id/migrations/:migration_id',
    status: 200,
    minVersion,
    ...(maxVersion ? { maxVersion } : {}),
    schema: object({ migration: serverMigration(minVersion) }),
  })),
  proxy('GET', '/os-networks/:id', 200, object({ network })),
  proxy('GET', '/os-tenant-networks/:id', 200, object({ network: tenantNetwork })),
  proxy('GET', '/os-security-groups/:id', 200, object({ security_group: securityGroup })),
  proxy('POST', '/os-security-groups', 200, object({ security_group: securityGroup })),
  proxy('PUT', '/os-security-groups/:id', 200, object({ security_group: securityGroup })),
  proxy('DELETE', '/os-security-groups/:id', 202, NO_BODY),
  proxy('POST', '/os-security-group-rules', 200, object({ security_group_rule: securityGroupRule })),
  proxy('DELETE', '/os-security-group-rules/:id', 202, NO_BODY),
  proxy('GET', '/os-floating-ips/:id', 200, object({ floating_ip: floatingIp })),
  proxy('POST', '/os-floating-ips', 200, object({ floating_ip: floatingIp })),
  proxy('DELETE', '/os-floating-ips/:id', 202, NO_BODY),
  proxy('GET', '/os-volumes/:id', 200, object({ volume })),
  proxy('POST', '/os-volumes', 200, object({ volume })),
  proxy('DELETE', '/os-volumes/:id', 202, NO_BODY),
  proxy('GET', '/os-snapshots/:id', 200, object({ snapshot })),
  proxy('POST', '/os-snapshots', 200, object({ snapshot })),
  proxy('DELETE', '/os-snapshots/:id', 202, NO_BODY),
  { method: 'DELETE', path: '/images/:id', status: 204, maxVersion: '2.35', schema: NO_BODY },
  { method: 'DELETE', path: '/images/:id/metadata/:key', status: 204, maxVersion: '2.38', schema: NO_BODY },
  ...(['reboot', 'shutdown', 'startup'] as const).map((action): ResponseSchema => ({
    method: 'GET',
    path: `/os-hosts/:host/${action}`,
    status: 200,
    maxVersion: '2.42',
    // Nova leaves power_action unconstrained: what the virt driver answered.
    schema: object({ host: str, power_action: {} }),
  })),
  // The removed APIs: Nova answers every method with its 410 fault, at every version.
  ...GONE_ROUTES.flatMap(([path, methods]) =>
    methods.map((method): ResponseSchema => ({ method, path, status: 410, schema: faultSchema(410) })),
  ),
];
