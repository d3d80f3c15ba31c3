/**
 * Every area's strict response schemas, in one list for response-check.ts. An area is one line: its
 * file exports RESPONSE_SCHEMAS (types.ts says what an entry is).
 */
import type { ResponseSchema } from './types.ts';

const AREAS: readonly { RESPONSE_SCHEMAS: readonly ResponseSchema[] }[] = [
  await import('./versions.ts'),
  await import('./servers.ts'),
  await import('./server-actions.ts'),
  await import('./disk-snapshots.ts'),
  await import('./flavors.ts'),
  await import('./server-groups.ts'),
  await import('./aggregates.ts'),
  await import('./availability-zones.ts'),
  await import('./services.ts'),
  await import('./hypervisors.ts'),
  await import('./keypairs.ts'),
  await import('./quotas.ts'),
  await import('./lifecycle.ts'),
  await import('./admin-apis.ts'),
  await import('./rescue-diagnostics.ts'),
  await import('./rebuild.ts'),
  await import('./topology-image-cache.ts'),
  await import('./networking.ts'),
];

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = AREAS.flatMap((area) => area.RESPONSE_SCHEMAS);
