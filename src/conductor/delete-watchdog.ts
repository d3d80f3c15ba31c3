/**
 * The deletes no compute host will finish (a Stratus watchdog after Nova's local delete): a delete whose
 * terminate_instance was taken by a compute service that died is finished by that host when it starts
 * again (its start-up settling, or compute/stuck-tasks.ts); one on a host that stays down, the conductor
 * finishes. A claim a deleted instance still holds is given back (claimsOfDeletedInstances).
 */
import type { Db } from '../common/db/database.ts';
import { TaskState } from '../wire/messages/instance-states.ts';
import { quietInTask } from './build-redelivery.ts';
import { hostsUp } from './build-watchdog.ts';

/**
 * Deletes no compute host will finish: `deleting` since before `before` (its terminate_instance lost
 * with the host that took it), on no host or on a host whose compute service is down or gone. The
 * conductor finishes them as the API's local delete would.
 */
export async function orphanedDeletes(
  db: Db,
  before: string,
  serviceDownTimeSec: number,
  at: number,
): Promise<string[]> {
  const rows = await quietInTask(db, TaskState.DELETING, before);
  const up = await hostsUp(
    db,
    rows.flatMap((r) => (r.host === null ? [] : [r.host])),
    serviceDownTimeSec,
    at,
  );
  return rows.filter((r) => r.host === null || !up.has(r.host)).map((r) => r.uuid);
}

/**
 * Instances deleted that still hold a claim, a hundred at most. A delete frees the claims held when it
 * runs; a select_destinations made before it and handled after it (a copy that waited in the
 * scheduler's queue while the broker or the scheduler was away, its caller gone or already answered)
 * claims for a server that no longer exists, and nothing else would give that back.
 */
export async function claimsOfDeletedInstances(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('allocations')
    .innerJoin('instances', 'instances.uuid', 'allocations.consumer_id')
    .select('allocations.consumer_id')
    .distinct()
    .where('instances.deleted', '!=', 0)
    .limit(100)
    .execute();
  return rows.map((r) => r.consumer_id);
}
