/** Instance faults: why an instance went to ERROR, shown as `fault` by server show. */
import type { Db } from '../common/db/database.ts';
import { retryOnLockConflict } from '../common/db/lock-conflict.ts';
import { now } from '../common/db/schema.ts';
import { InstanceInvalidState, NotFound, StratusError } from '../common/errors.ts';
import { VmState } from '../wire/messages/instance-states.ts';
import { changeInstance } from './instances.ts';

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

/**
 * Records `error` as the instance's fault (its status as the code, 500 for what is not a StratusError),
 * for a flow that must go on whether or not the fault could be written: a failure to write it is dropped.
 */
export async function recordErrorFault(db: Db, instanceUuid: string, error: Error, host: string | null): Promise<void> {
  await recordFault(db, instanceUuid, {
    code: error instanceof StratusError ? error.status : 500,
    message: error.message,
    details: error.stack ?? null,
    host,
  }).catch(() => undefined);
}

type NewFault = Parameters<typeof recordFault>[2];

/**
 * Puts a build that cannot go on in ERROR with its fault, in one transaction, so no reader ever sees the
 * ERROR without the reason. Returns false, changing nothing, if the instance is no longer building
 * (deleted or being deleted meanwhile).
 */
export async function failBuild(db: Db, instanceUuid: string, fault: NewFault): Promise<boolean> {
  try {
    await retryOnLockConflict(() =>
      db.transaction().execute(async (trx) => {
        await changeInstance(
          trx,
          instanceUuid,
          { vm_state: VmState.ERROR, task_state: null },
          { vmState: [VmState.BUILDING] },
        );
        await recordFault(trx, instanceUuid, fault);
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof InstanceInvalidState || err instanceof NotFound) return false;
    throw err;
  }
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
