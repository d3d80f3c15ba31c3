/** Instance faults: why an instance went to ERROR, shown as `fault` by server show. */
import type { Db } from '../common/db/database.ts';
import { now } from '../common/db/schema.ts';

export interface InstanceFault {
  readonly code: number;
  readonly message: string;
  readonly details: string | null;
  readonly host: string | null;
  readonly created_at: string;
}

export async function recordFault(
  db: Db,
  instanceUuid: string,
  fault: { code: number; message: string; details?: string | null; host?: string | null },
): Promise<void> {
  await db
    .insertInto('instance_faults')
    .values({
      instance_uuid: instanceUuid,
      code: fault.code,
      // Nova keeps the message short (255) and the trace in details.
      message: fault.message.slice(0, 255),
      details: fault.details ?? null,
      host: fault.host ?? null,
      created_at: now(),
    })
    .execute();
}

/** The newest fault of each instance. */
export async function latestFaults(db: Db, uuids: readonly string[]): Promise<Map<string, InstanceFault>> {
  const result = new Map<string, InstanceFault>();
  if (!uuids.length) return result;
  const rows = await db
    .selectFrom('instance_faults')
    .selectAll()
    .where('instance_uuid', 'in', [...uuids])
    .orderBy('id', 'asc')
    .execute();
  for (const row of rows) {
    result.set(row.instance_uuid, {
      code: row.code,
      message: row.message,
      details: row.details,
      host: row.host,
      created_at: row.created_at,
    });
  }
  return result;
}
