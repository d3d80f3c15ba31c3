/**
 * Disk snapshots, a Stratus extension (Nova has no such resource): /servers/{id}/stratus-disk-snapshots
 * and the server action revertDiskSnapshot (202, no body: server-actions.ts). These schemas are
 * Stratus's own contract, as strict as Nova's.
 */
import { NAIVE_DATE_TIME, NO_BODY, NULLABLE_NAIVE_DATE_TIME, strictObject, UUID } from './common.ts';
import type { ResponseSchema } from './types.ts';

const SNAPSHOT = strictObject({
  id: UUID,
  name: { type: 'string' },
  status: { enum: ['creating', 'available', 'deleting', 'error', 'error_deleting'] },
  server_id: UUID,
  size: { type: ['integer', 'null'], minimum: 0 },
  created_at: NAIVE_DATE_TIME,
  updated_at: NULLABLE_NAIVE_DATE_TIME,
});

const BASE = '/servers/:id/stratus-disk-snapshots';

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  { method: 'POST', path: BASE, status: 202, schema: strictObject({ disk_snapshot: SNAPSHOT }) },
  {
    method: 'GET',
    path: BASE,
    status: 200,
    schema: strictObject({ disk_snapshots: { type: 'array', items: SNAPSHOT } }),
  },
  { method: 'GET', path: `${BASE}/:sid`, status: 200, schema: strictObject({ disk_snapshot: SNAPSHOT }) },
  { method: 'DELETE', path: `${BASE}/:sid`, status: 202, schema: NO_BODY },
];
