/**
 * build_instances delivered more than once. Casts are at least once (src/common/rpc/amqp-transport.ts):
 * the broker hands a message to another consumer, or to the same one again, when the connection it was
 * delivered on died before its acknowledgement arrived (a conductor killed with -9, a broker restart).
 * Scheduling an instance twice would build it on two hosts, so a copy is sorted against what the
 * database and this process know:
 *
 * - instances this process is scheduling right now (the first copy's handler still runs, after a broker
 *   restart): left to it;
 * - instances not placed yet (no host): scheduled, as on the first delivery (the previous attempt died
 *   before placing them); a claim it made is given back first (BuildTriage.claimed);
 * - placed but not started (task_state still `scheduling`): the build is cast again to the same host
 *   and node, since the conductor that placed them may have died before its cast; compute starts a build
 *   only from `scheduling`, so if both casts arrive the second is dropped there;
 * - anything else (spawning, active, error, deleted): done, nothing to do.
 */
import type { Db } from '../common/db/database.ts';
import { TaskState, VmState } from '../wire/messages/instance-states.ts';
import { SelectionShape, type Selection } from '../wire/messages/request-spec.ts';

export interface BuildTriage {
  /** To schedule. */
  unplaced: string[];
  /**
   * Those of `unplaced` holding a claim already: an earlier select_destinations claimed for them and its
   * answer was lost (with a conductor killed, or its reply with a broker restart). Given back before
   * they are scheduled again: the scheduler's view would count it against its host while it claims
   * again, and concurrent copies would use up its free capacity with claims that replace each other
   * (the chaos runs' NoValidHost answers with room left).
   */
  claimed: string[];
  /** To cast again to the host they were placed on. */
  placed: { uuid: string; selection: Selection }[];
}

/** The uuids whose build_instances a handler of this process is working on. */
export class BuildsInFlight {
  private readonly uuids = new Set<string>();

  /** Takes the uuids nobody in this process is working on, and marks them taken. */
  take(uuids: readonly string[]): string[] {
    const free = uuids.filter((uuid) => !this.uuids.has(uuid));
    for (const uuid of free) this.uuids.add(uuid);
    return free;
  }

  release(uuids: readonly string[]): void {
    for (const uuid of uuids) this.uuids.delete(uuid);
  }
}

export async function triageBuilds(db: Db, uuids: readonly string[]): Promise<BuildTriage> {
  if (uuids.length === 0) return { unplaced: [], claimed: [], placed: [] };
  const rows = await db
    .selectFrom('instances')
    .leftJoin('compute_nodes', (join) =>
      join
        .onRef('compute_nodes.host', '=', 'instances.host')
        .onRef('compute_nodes.hypervisor_hostname', '=', 'instances.node')
        .on('compute_nodes.deleted_at', 'is', null),
    )
    .select([
      'instances.uuid',
      'instances.host',
      'instances.node',
      'instances.availability_zone',
      'instances.task_state',
      'compute_nodes.uuid as node_uuid',
      (eb) =>
        eb
          .exists(
            eb
              .selectFrom('allocations')
              .select('allocations.id')
              .whereRef('allocations.consumer_id', '=', 'instances.uuid'),
          )
          .as('has_claim'),
    ])
    .where('instances.uuid', 'in', [...uuids])
    .where('instances.deleted', '=', 0)
    .where('instances.vm_state', '=', VmState.BUILDING)
    .execute();
  const triage: BuildTriage = { unplaced: [], claimed: [], placed: [] };
  // In the order of the message, which is the order the API numbered them in.
  const byUuid = new Map(rows.map((r) => [r.uuid, r]));
  for (const uuid of uuids) {
    const row = byUuid.get(uuid);
    if (!row || row.task_state !== TaskState.SCHEDULING) continue;
    if (row.host === null || row.node === null || row.node_uuid === null) {
      triage.unplaced.push(uuid);
      if (row.has_claim) triage.claimed.push(uuid);
      continue;
    }
    triage.placed.push({
      uuid,
      selection: SelectionShape.build({
        service_host: row.host,
        nodename: row.node,
        compute_node_uuid: row.node_uuid,
        availability_zone: row.availability_zone ?? '',
      }),
    });
  }
  return triage;
}

/** Builds in `scheduling` not changed since `before`: their handler or message was lost (or is very late). */
export async function interruptedBuilds(db: Db, before: string): Promise<string[]> {
  const rows = await quietInTask(db, TaskState.SCHEDULING, before, VmState.BUILDING);
  return rows.map((r) => r.uuid);
}

/** Live instances in `task` (and `vmState`, if given) not changed since `before`, a hundred at most. */
export async function quietInTask(
  db: Db,
  task: TaskState,
  before: string,
  vmState?: VmState,
): Promise<{ uuid: string; host: string | null }[]> {
  let query = db
    .selectFrom('instances')
    .select(['uuid', 'host'])
    .where('task_state', '=', task)
    .where('deleted', '=', 0)
    .where((eb) =>
      eb.or([eb('updated_at', '<', before), eb.and([eb('updated_at', 'is', null), eb('created_at', '<', before)])]),
    );
  if (vmState) query = query.where('vm_state', '=', vmState);
  return query.limit(100).execute();
}
