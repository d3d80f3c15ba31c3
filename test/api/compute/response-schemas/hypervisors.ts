/**
 * Hypervisors (Nova's hypervisors API reference): cpu_info an object from 2.28, paging from 2.33, uuid
 * ids and `servers` (with_servers) from 2.53, which also replaced /{pattern}/search and /{id}/servers
 * with query parameters; from 2.88 the detail drops the resource figures for `uptime`, and statistics
 * is gone.
 */
import { byVersion, COLLECTION_LINKS, strictObject, UUID, type Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

const BREAKS = ['2.1', '2.28', '2.33', '2.53', '2.88'];

const SERVERS: Json = { type: 'array', items: strictObject({ name: { type: 'string' }, uuid: UUID }) };

function summary(at: (v: string) => boolean, withServers: boolean): Json {
  const properties: Json = {
    id: at('2.53') ? UUID : { type: 'integer' },
    hypervisor_hostname: { type: 'string' },
    state: { enum: ['up', 'down'] },
    status: { enum: ['enabled', 'disabled'] },
  };
  const required = Object.keys(properties);
  if (withServers || at('2.53')) properties['servers'] = SERVERS;
  return strictObject(properties, required);
}

function detail(at: (v: string) => boolean): Json {
  const properties: Json = {
    id: at('2.53') ? UUID : { type: 'integer' },
    hypervisor_hostname: { type: 'string' },
    state: { enum: ['up', 'down'] },
    status: { enum: ['enabled', 'disabled'] },
    hypervisor_type: { type: 'string' },
    hypervisor_version: { type: ['string', 'integer'] },
    host_ip: { type: ['string', 'null'] },
    service: strictObject({
      id: at('2.53') ? UUID : { type: 'integer' },
      host: { type: 'string' },
      disabled_reason: { type: ['string', 'null'] },
    }),
  };
  if (at('2.88')) {
    properties['uptime'] = { type: ['string', 'null'] };
  } else {
    Object.assign(properties, {
      cpu_info: at('2.28') ? { type: 'object' } : { type: 'string' },
      current_workload: { type: ['integer', 'null'] },
      free_disk_gb: { type: ['integer', 'null'] },
      free_ram_mb: { type: ['integer', 'null'] },
      local_gb: { type: 'integer' },
      local_gb_used: { type: 'integer' },
      memory_mb: { type: 'integer' },
      memory_mb_used: { type: 'integer' },
      running_vms: { type: ['integer', 'null'] },
      vcpus: { type: 'integer' },
      vcpus_used: { type: 'integer' },
    });
  }
  const required = Object.keys(properties);
  if (!at('2.88')) properties['disk_available_least'] = { type: ['integer', 'null'] };
  if (at('2.53')) properties['servers'] = SERVERS;
  return strictObject(properties, required);
}

const STATISTICS = strictObject({
  hypervisor_statistics: strictObject(
    Object.fromEntries(
      [
        'count',
        'current_workload',
        'disk_available_least',
        'free_disk_gb',
        'free_ram_mb',
        'local_gb',
        'local_gb_used',
        'memory_mb',
        'memory_mb_used',
        'running_vms',
        'vcpus',
        'vcpus_used',
      ].map((key) => [key, { type: ['integer', 'null'] }]),
    ),
  ),
});

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/os-hypervisors',
    status: 200,
    schema: strictObject(
      {
        hypervisors: { type: 'array', items: summary(at, false) },
        ...(at('2.33') ? { hypervisors_links: COLLECTION_LINKS } : {}),
      },
      ['hypervisors'],
    ),
  })),
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/os-hypervisors/detail',
    status: 200,
    schema: strictObject(
      {
        hypervisors: { type: 'array', items: detail(at) },
        ...(at('2.33') ? { hypervisors_links: COLLECTION_LINKS } : {}),
      },
      ['hypervisors'],
    ),
  })),
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/os-hypervisors/:id',
    status: 200,
    schema: strictObject({ hypervisor: detail(at) }),
  })),
  { method: 'GET', path: '/os-hypervisors/statistics', status: 200, maxVersion: '2.87', schema: STATISTICS },
  {
    method: 'GET',
    path: '/os-hypervisors/:id/search',
    status: 200,
    maxVersion: '2.52',
    schema: strictObject({ hypervisors: { type: 'array', items: summary(() => false, false) } }),
  },
  {
    method: 'GET',
    path: '/os-hypervisors/:id/servers',
    status: 200,
    maxVersion: '2.52',
    schema: strictObject({ hypervisors: { type: 'array', items: summary(() => false, true) } }),
  },
];
