/** Stored request specs: what each build asked for, kept for reschedules. */
import type { Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import type { Schema } from '../common/db/schema.ts';
import { NotFound } from '../common/errors.ts';
import { RequestSpecShape, type RequestSpec } from '../wire/messages/request-spec.ts';

export async function saveRequestSpec(db: Db, instanceUuid: string, spec: RequestSpec): Promise<void> {
  const text = JSON.stringify(spec);
  const updated = await db
    .updateTable('request_specs')
    .set({ spec: text })
    .where('instance_uuid', '=', instanceUuid)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) {
    await db.insertInto('request_specs').values({ instance_uuid: instanceUuid, spec: text }).execute();
  }
}

/** For a new instance: a plain insert, which takes fewer locks than the update-or-insert above. */
export async function insertRequestSpec(
  db: Db | Transaction<Schema>,
  instanceUuid: string,
  spec: RequestSpec,
): Promise<void> {
  await db
    .insertInto('request_specs')
    .values({ instance_uuid: instanceUuid, spec: JSON.stringify(spec) })
    .execute();
}

export async function getRequestSpec(db: Db, instanceUuid: string): Promise<RequestSpec> {
  const row = await db
    .selectFrom('request_specs')
    .select('spec')
    .where('instance_uuid', '=', instanceUuid)
    .executeTakeFirst();
  if (!row) throw new NotFound(`RequestSpec not found for instance ${instanceUuid}`);
  // Stored with its payload_version: one of an older release reads as it is (none: 1.0), a newer one is refused.
  const stored = JSON.parse(row.spec) as Record<string, unknown>;
  return RequestSpecShape.accept(stored, `The stored request spec of instance ${instanceUuid}`) as RequestSpec;
}

/**
 * The stored spec as a move schedules with it: the host the server's boot asked for (2.74 `--host`)
 * was that request's, not its moves' (Nova persists no requested_destination); only the host the move
 * names, if any, is asked for.
 */
export function moveRequestSpec(spec: RequestSpec, requestedHost: string | undefined): RequestSpec {
  const { requested_destination: _boot, ...rest } = spec;
  return { ...rest, ...(requestedHost ? { requested_destination: { host: requestedHost, node: null } } : {}) };
}
