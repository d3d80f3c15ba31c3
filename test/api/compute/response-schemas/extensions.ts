/**
 * Stratus's extension keys (src/api/compute/extensions.ts): a request that asks for an extension with
 * the Stratus-Extensions header gets its keys added to Nova's bodies. response-check.ts checks them
 * here, takes them out, and checks what remains against Nova's schema as for any request: so an
 * extension may add its own keys and nothing else, and only when asked.
 */
import { Ajv } from 'ajv';
import { atLeast, type Json } from './common.ts';

const ajv = new Ajv({ strict: false });
// null: a server recorded before tiers existed (migration 0005 added the column without a value).
const isTier = ajv.compile({ enum: ['hdd', 'ssd', 'pcie_ssd', null] });
const TIER_KEY = 'STRATUS-EXT-STORAGE:tier';
const POOLS_KEY = 'STRATUS-EXT-STORAGE:pools';
const isPools = ajv.compile({
  type: 'array',
  items: {
    type: 'object',
    properties: {
      tier: { enum: ['hdd', 'ssd', 'pcie_ssd'] },
      capacity_gb: { type: 'integer', minimum: 0 },
      used_gb: { type: 'integer', minimum: 0 },
    },
    required: ['tier', 'capacity_gb', 'used_gb'],
    additionalProperties: false,
  },
});

/** The detailed hypervisor views of a response (show and the detailed list), which carry the pools. */
function hypervisorViews(method: string, path: string, body: unknown): Json[] {
  const object = body as Json | null;
  if (method !== 'GET') return [];
  if (path === '/os-hypervisors/detail') return (object?.['hypervisors'] as Json[] | undefined) ?? [];
  if (path === '/os-hypervisors/:id') return [object?.['hypervisor'] as Json];
  return [];
}

/**
 * The full server views of a response, by route: show, the detailed list, and update from 2.75 (before,
 * Nova's update response has none of the extended attributes, the tier among them).
 */
export function serverViews(method: string, path: string, version: string, body: unknown): Json[] {
  const object = body as Json | null;
  if (method === 'GET' && path === '/servers/detail') return (object?.['servers'] as Json[] | undefined) ?? [];
  if (method === 'GET' && path === '/servers/:id') return [object?.['server'] as Json];
  if (method === 'PUT' && path === '/servers/:id' && atLeast(version, '2.75')) return [object?.['server'] as Json];
  return [];
}

/**
 * Checks and removes the keys of `extensions` from `body` (in place); returns the problems found. A
 * server view shown under `storage-tier` must carry the tier, a detailed hypervisor view its pools.
 */
export function stripExtensionKeys(
  extensions: ReadonlySet<string>,
  method: string,
  path: string,
  version: string,
  body: unknown,
): string[] {
  const problems: string[] = [];
  if (!extensions.has('storage-tier')) return problems;
  const views = serverViews(method, path, version, body);
  views.forEach((view, i) => {
    if (!view || typeof view !== 'object') return;
    if (!(TIER_KEY in view)) problems.push(`server ${i}: ${TIER_KEY} missing though storage-tier was asked for`);
    else if (!isTier(view[TIER_KEY])) problems.push(`server ${i}: ${TIER_KEY} is no storage tier`);
    delete view[TIER_KEY];
  });
  hypervisorViews(method, path, body).forEach((view, i) => {
    if (!view || typeof view !== 'object') return;
    if (!(POOLS_KEY in view)) problems.push(`hypervisor ${i}: ${POOLS_KEY} missing though storage-tier was asked for`);
    else if (!isPools(view[POOLS_KEY])) problems.push(`hypervisor ${i}: ${POOLS_KEY} is no list of storage pools`);
    delete view[POOLS_KEY];
  });
  return problems;
}
