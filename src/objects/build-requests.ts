/**
 * Recording a build request: the instances (BUILDING/scheduling), the request spec each keeps for
 * reschedules, a 'create' instance action and their server group membership, in one transaction. What
 * POST /servers writes before it casts build_instances to the conductor.
 */
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { retryOnLockConflict } from '../common/db/lock-conflict.ts';
import type { RequestSpec } from '../wire/messages/request-spec.ts';
import { InstanceAction, startAction } from './instance-actions.ts';
import { insertInstance, type NewInstance } from './instances.ts';
import { insertRequestSpec } from './request-specs.ts';
import { addServerGroupMembers } from './server-groups.ts';

export async function recordBuildRequest(
  db: Db,
  ctx: RequestContext,
  instances: readonly NewInstance[],
  spec: RequestSpec,
  /** The server group (id) the instances join, from the `group` scheduler hint. */
  groupId: number | null = null,
): Promise<void> {
  // New rows only, yet MariaDB's index locks can still make concurrent creates deadlock: run again.
  await retryOnLockConflict(() =>
    db.transaction().execute(async (trx) => {
      for (const instance of instances) {
        await insertInstance(trx, instance);
        await insertRequestSpec(trx, instance.uuid, spec);
        await startAction(trx, ctx, instance.uuid, InstanceAction.CREATE);
      }
      if (groupId !== null) {
        const uuids = instances.map((i) => i.uuid);
        await addServerGroupMembers(trx, groupId, uuids);
      }
    }),
  );
}
