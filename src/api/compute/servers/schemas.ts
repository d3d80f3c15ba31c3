/**
 * Body schemas of the server routes, per microversion as Nova's (schemas/servers.py). Fields Stratus
 * cannot honour are left out, so asking for them is a clear 400 rather than silently ignored: block
 * device mappings (no volumes), trusted certificates (2.63). The shape of network requests is checked
 * here, what they name against the network service in requested-networks.ts. A request that asks
 * for the storage-tier extension (header `Stratus-Extensions: storage-tier`) may name the storage tier
 * of the disk, `instance_disk_type`.
 */
import { Type, type TSchema } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { MAX_TAGS } from '../../../objects/instance-tags.ts';
import { atLeast } from '../microversion.ts';
import { wantsExtension } from '../extensions.ts';
import { STORAGE_TIER_EXTENSION } from './storage-tier.ts';
import { BooleanLike, Description, IntegerLike, Metadata, Name, Uuid } from '../schema-types.ts';

export interface CreateServerBody {
  server: {
    name: string;
    imageRef?: string;
    flavorRef: string | number;
    adminPass?: string;
    metadata?: Record<string, string>;
    networks?: 'auto' | 'none' | { uuid?: string; port?: string | null; fixed_ip?: string; tag?: string }[];
    'OS-DCF:diskConfig'?: 'AUTO' | 'MANUAL';
    accessIPv4?: string;
    accessIPv6?: string;
    availability_zone?: string;
    config_drive?: boolean | string;
    key_name?: string;
    min_count?: number | string;
    max_count?: number | string;
    return_reservation_id?: boolean | string;
    security_groups?: { name?: string }[];
    user_data?: string;
    description?: string | null;
    hostname?: string;
    /** Stratus extension (header `Stratus-Extensions: storage-tier`): the storage tier of the server's disk. */
    instance_disk_type?: string;
    /** Server tags (2.52). */
    tags?: string[];
    /** The requested destination (2.74, admins). */
    host?: string;
    hypervisor_hostname?: string;
  };
  'os:scheduler_hints'?: Record<string, unknown>;
  'OS-SCH-HNT:scheduler_hints'?: Record<string, unknown>;
}

export interface UpdateServerBody {
  server: {
    name?: string;
    description?: string | null;
    accessIPv4?: string;
    accessIPv6?: string;
    'OS-DCF:diskConfig'?: 'AUTO' | 'MANUAL';
    hostname?: string;
  };
}

const IpAddress = Type.Unsafe<string>({ type: 'string', oneOf: [{ format: 'ipv4' }, { format: 'ipv6' }] });
export const Ipv4 = Type.String({ format: 'ipv4' });
export const Ipv6 = Type.String({ format: 'ipv6' });
export const DiskConfig = Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')]);
/** Nova's parameter_types.tag: a server tag, or a network's device tag. */
export const Tag = Type.String({ pattern: '^[^,/]*$', minLength: 1, maxLength: 60 });
export const Hostname = Type.String({
  pattern: '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$',
  minLength: 2,
  maxLength: 63,
});
export const Fqdn = Type.String({ pattern: '^[a-zA-Z0-9-._]*$', minLength: 1, maxLength: 255 });
const UuidOrList = Type.Unsafe<string | string[]>({
  oneOf: [
    { type: 'string', format: 'uuid' },
    { type: 'array', items: { type: 'string', format: 'uuid' } },
  ],
});

/** Nova's scheduler hints: a few known ones are checked, any other hint passes (for custom filters). */
const SchedulerHints = Type.Unsafe<Record<string, unknown>>({
  type: 'object',
  properties: {
    group: UuidOrList,
    different_host: UuidOrList,
    // Nova's schema checks only the list form of same_host; a single value that is no UUID can name no
    // server either, so it is refused the same way here rather than end in NoValidHost.
    same_host: UuidOrList,
    query: { type: ['string', 'object'] },
    target_cell: Name,
    different_cell: { type: ['string', 'array'], items: { type: 'string' } },
    build_near_host_ip: IpAddress,
    cidr: { type: 'string', pattern: '^/[0-9a-f.:]+$' },
    // Stratus: the storage tier of the disk; checked against the known tiers in storage-tier.ts.
    disk_type: { type: 'string' },
  },
  additionalProperties: true,
});

function networkItem(version: { uuidFormat: boolean; tag: boolean }): TSchema {
  return Type.Object(
    {
      fixed_ip: Type.Optional(IpAddress),
      port: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'uuid' })),
      uuid: Type.Optional(version.uuidFormat ? Uuid : Type.String()),
      ...(version.tag ? { tag: Type.Optional(Tag) } : {}),
    },
    { additionalProperties: false },
  );
}

function networksSchema(request: FastifyRequest): TSchema {
  const tagged = atLeast(request, '2.32') && (!atLeast(request, '2.37') || atLeast(request, '2.42'));
  if (!atLeast(request, '2.37')) return Type.Array(networkItem({ uuidFormat: false, tag: tagged }));
  return Type.Unsafe({
    oneOf: [Type.Array(networkItem({ uuidFormat: true, tag: tagged })), { type: 'string', enum: ['none', 'auto'] }],
  });
}

/** Files to inject (before 2.57): accepted and ignored, since Stratus injects nothing into guests. */
export const Personality = Type.Array(
  Type.Object(
    { path: Type.Optional(Type.String()), contents: Type.Optional(Type.String()) },
    { additionalProperties: false },
  ),
);

const createSchemas = new Map<string, TSchema>();

/** The create schema for the request's microversion (cached: there are only a few distinct ones). */
export function createServerSchema(request: FastifyRequest): TSchema {
  const key = [
    atLeast(request, '2.19'),
    atLeast(request, '2.32'),
    atLeast(request, '2.33'),
    atLeast(request, '2.37'),
    atLeast(request, '2.42'),
    atLeast(request, '2.52'),
    atLeast(request, '2.57'),
    atLeast(request, '2.74'),
    atLeast(request, '2.90'),
    atLeast(request, '2.94'),
    wantsExtension(request, STORAGE_TIER_EXTENSION),
  ].join();
  let schema = createSchemas.get(key);
  if (schema) return schema;
  const properties: Record<string, TSchema> = {
    name: Name,
    // '' is Nova's way to say "boot from volume"; Stratus refuses it with a clear message in code.
    imageRef: Type.Unsafe<string>({
      oneOf: [
        { type: 'string', format: 'uuid' },
        { type: 'string', maxLength: 0 },
      ],
    }),
    flavorRef: Type.Unsafe<string | number>({ type: ['string', 'integer'], minLength: 1 }),
    adminPass: Type.String(),
    metadata: Metadata(),
    networks: networksSchema(request),
    'OS-DCF:diskConfig': DiskConfig,
    accessIPv4: Ipv4,
    accessIPv6: Ipv6,
    availability_zone: Name,
    config_drive: BooleanLike,
    key_name: Name,
    min_count: IntegerLike(1),
    max_count: IntegerLike(1),
    return_reservation_id: BooleanLike,
    security_groups: Type.Array(Type.Object({ name: Type.Optional(Name) }, { additionalProperties: false })),
    user_data: Type.String({ maxLength: 65535 }),
  };
  if (!atLeast(request, '2.57')) {
    properties['personality'] = Personality;
  }
  if (atLeast(request, '2.19')) properties['description'] = Description();
  if (atLeast(request, '2.52')) properties['tags'] = Type.Array(Tag, { maxItems: MAX_TAGS });
  if (atLeast(request, '2.74')) {
    properties['host'] = Fqdn;
    properties['hypervisor_hostname'] = Fqdn;
  }
  if (atLeast(request, '2.90')) properties['hostname'] = atLeast(request, '2.94') ? Fqdn : Hostname;
  if (wantsExtension(request, STORAGE_TIER_EXTENSION)) properties['instance_disk_type'] = Type.String();
  const required = atLeast(request, '2.37') ? ['name', 'flavorRef', 'networks'] : ['name', 'flavorRef'];
  schema = Type.Unsafe({
    type: 'object',
    properties: {
      server: { type: 'object', properties, required, additionalProperties: false },
      'os:scheduler_hints': SchedulerHints,
      'OS-SCH-HNT:scheduler_hints': SchedulerHints,
    },
    required: ['server'],
    additionalProperties: false,
  });
  createSchemas.set(key, schema);
  return schema;
}

export function updateServerSchema(request: FastifyRequest): TSchema {
  const properties: Record<string, TSchema> = {
    name: Name,
    'OS-DCF:diskConfig': DiskConfig,
    accessIPv4: Ipv4,
    accessIPv6: Ipv6,
  };
  if (atLeast(request, '2.19')) properties['description'] = Description();
  if (atLeast(request, '2.90')) properties['hostname'] = atLeast(request, '2.94') ? Fqdn : Hostname;
  return Type.Unsafe({
    type: 'object',
    properties: { server: { type: 'object', properties, additionalProperties: false } },
    required: ['server'],
    additionalProperties: false,
  });
}

export interface RebootBody {
  reboot: { type: 'HARD' | 'Hard' | 'hard' | 'SOFT' | 'Soft' | 'soft' };
}

export const RebootSchema = Type.Object(
  {
    reboot: Type.Object(
      { type: Type.Union(['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'].map((t) => Type.Literal(t))) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** `{"os-start": null}` and the like: the action name with any value. */
export function bareActionSchema(action: string): TSchema {
  return Type.Unsafe({ type: 'object', properties: { [action]: {} }, required: [action], additionalProperties: false });
}

export const MetadataBodySchema = Type.Object({ metadata: Metadata() }, { additionalProperties: false });
export const MetaItemBodySchema = Type.Object(
  { meta: Metadata({ minProperties: 1, maxProperties: 1 }) },
  { additionalProperties: false },
);
