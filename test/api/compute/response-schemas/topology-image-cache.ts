/**
 * Server topology (2.78, Nova's API reference servers-topology) and the aggregate image cache (2.81,
 * os-aggregates "Request Image Pre-caching"). GET /servers/{id}/topology lists the guest's NUMA nodes
 * (the host fields only for admins, and only where the node has them) and the page size, null when the
 * guest has none. POST /os-aggregates/{id}/images answers 202 with no body.
 */
import { NO_BODY, strictObject, type Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

const INTEGERS: Json = { type: 'array', items: { type: 'integer' } };

const NUMA_NODE = strictObject(
  {
    vcpu_set: INTEGERS,
    siblings: { type: 'array', items: INTEGERS },
    memory_mb: { type: 'integer' },
    host_node: { type: 'integer' },
    cpu_pinning: {
      type: 'object',
      patternProperties: { '^[0-9]+$': { type: 'integer' } },
      additionalProperties: false,
    },
  },
  ['vcpu_set', 'siblings', 'memory_mb'],
);

const TOPOLOGY = strictObject({
  nodes: { type: 'array', items: NUMA_NODE },
  pagesize_kb: { type: ['integer', 'null'] },
});

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  { method: 'GET', path: '/servers/:id/topology', status: 200, minVersion: '2.78', schema: TOPOLOGY },
  {
    method: 'POST',
    path: '/os-aggregates/:id/images',
    status: 202,
    minVersion: '2.81',
    schema: NO_BODY,
  },
];
