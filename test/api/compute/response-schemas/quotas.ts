/**
 * Strict response schemas of os-quota-sets, os-quota-class-sets and /limits, from Nova's API reference:
 * the resources each microversion shows (nova-network's until 2.35 for quota sets and 2.49 for quota
 * classes, personality files until 2.56, server groups in quota classes from 2.50), and the absolute
 * limits of /limits (maxImageMeta until 2.38).
 */
import type { ResponseSchema } from './types.ts';

const ALL = [
  'cores',
  'fixed_ips',
  'floating_ips',
  'injected_file_content_bytes',
  'injected_file_path_bytes',
  'injected_files',
  'instances',
  'key_pairs',
  'metadata_items',
  'ram',
  'security_group_rules',
  'security_groups',
  'server_group_members',
  'server_groups',
];
const NETWORK = ['fixed_ips', 'floating_ips', 'security_group_rules', 'security_groups'];
const PERSONALITY = ['injected_file_content_bytes', 'injected_file_path_bytes', 'injected_files'];
const SERVER_GROUPS = ['server_group_members', 'server_groups'];

const LIMIT = { type: 'integer', minimum: -1 };
const DETAIL = {
  type: 'object',
  properties: { in_use: LIMIT, limit: LIMIT, reserved: LIMIT },
  required: ['in_use', 'limit', 'reserved'],
  additionalProperties: false,
};

function object(properties: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

function quotas(resources: string[], value: unknown, withId: boolean): Record<string, unknown> {
  const properties: Record<string, unknown> = Object.fromEntries(resources.map((r) => [r, value]));
  if (withId) properties['id'] = { type: 'string' };
  return object(properties);
}

const except = (hidden: string[]) => ALL.filter((r) => !hidden.includes(r));

/** Quota set resources by version range. */
const SET_RANGES: { min?: string; max?: string; resources: string[] }[] = [
  { max: '2.35', resources: ALL },
  { min: '2.36', max: '2.56', resources: except(NETWORK) },
  { min: '2.57', resources: except([...NETWORK, ...PERSONALITY]) },
];

const CLASS_RANGES: { min?: string; max?: string; resources: string[] }[] = [
  { max: '2.49', resources: except(SERVER_GROUPS) },
  { min: '2.50', max: '2.56', resources: except(NETWORK) },
  { min: '2.57', resources: except([...NETWORK, ...PERSONALITY]) },
];

function ranged(
  ranges: typeof SET_RANGES,
  method: ResponseSchema['method'],
  path: string,
  body: (resources: string[]) => Record<string, unknown>,
): ResponseSchema[] {
  return ranges.map((r) => ({
    method,
    path,
    status: 200,
    ...(r.min ? { minVersion: r.min } : {}),
    ...(r.max ? { maxVersion: r.max } : {}),
    schema: body(r.resources),
  }));
}

const ABSOLUTE_ALL = [
  'maxImageMeta',
  'maxPersonality',
  'maxPersonalitySize',
  'maxSecurityGroupRules',
  'maxSecurityGroups',
  'maxServerGroupMembers',
  'maxServerGroups',
  'maxServerMeta',
  'maxTotalCores',
  'maxTotalFloatingIps',
  'maxTotalInstances',
  'maxTotalKeypairs',
  'maxTotalRAMSize',
  'totalCoresUsed',
  'totalFloatingIpsUsed',
  'totalInstancesUsed',
  'totalRAMUsed',
  'totalSecurityGroupsUsed',
  'totalServerGroupsUsed',
];
const ABSOLUTE_NETWORK = [
  'maxSecurityGroupRules',
  'maxSecurityGroups',
  'maxTotalFloatingIps',
  'totalFloatingIpsUsed',
  'totalSecurityGroupsUsed',
];

function limitsBody(hidden: string[]): Record<string, unknown> {
  const absolute = object(Object.fromEntries(ABSOLUTE_ALL.filter((n) => !hidden.includes(n)).map((n) => [n, LIMIT])));
  return object({ limits: object({ absolute, rate: { type: 'array', maxItems: 0 } }) });
}

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  ...ranged(SET_RANGES, 'GET', '/os-quota-sets/:id', (r) => object({ quota_set: quotas(r, LIMIT, true) })),
  ...ranged(SET_RANGES, 'GET', '/os-quota-sets/:id/defaults', (r) => object({ quota_set: quotas(r, LIMIT, true) })),
  ...ranged(SET_RANGES, 'GET', '/os-quota-sets/:id/detail', (r) => object({ quota_set: quotas(r, DETAIL, true) })),
  ...ranged(SET_RANGES, 'PUT', '/os-quota-sets/:id', (r) => object({ quota_set: quotas(r, LIMIT, false) })),
  { method: 'DELETE', path: '/os-quota-sets/:id', status: 202, schema: { type: 'null' } },
  ...ranged(CLASS_RANGES, 'GET', '/os-quota-class-sets/:id', (r) =>
    object({ quota_class_set: quotas(r, LIMIT, true) }),
  ),
  ...ranged(CLASS_RANGES, 'PUT', '/os-quota-class-sets/:id', (r) =>
    object({ quota_class_set: quotas(r, LIMIT, false) }),
  ),
  { method: 'GET', path: '/limits', status: 200, maxVersion: '2.35', schema: limitsBody([]) },
  {
    method: 'GET',
    path: '/limits',
    status: 200,
    minVersion: '2.36',
    maxVersion: '2.38',
    schema: limitsBody(ABSOLUTE_NETWORK),
  },
  {
    method: 'GET',
    path: '/limits',
    status: 200,
    minVersion: '2.39',
    maxVersion: '2.56',
    schema: limitsBody([...ABSOLUTE_NETWORK, 'maxImageMeta']),
  },
  {
    method: 'GET',
    path: '/limits',
    status: 200,
    minVersion: '2.57',
    schema: limitsBody([...ABSOLUTE_NETWORK, 'maxImageMeta', 'maxPersonality', 'maxPersonalitySize']),
  },
];
