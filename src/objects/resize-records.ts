/**
 * The records that start each user step of a resize or migration, shared by the API and the conductor's
 * resize_confirm_window: the instance claimed by its task (so of two racing requests one wins), the
 * migration moved on from the status it must be in, and the instance action recorded (Nova's
 * resize/migrate, confirmResize, revertResize).
 */
import type { Config } from '../common/config/load-config.ts';
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { retryOnLockConflict } from '../common/db/lock-conflict.ts';
import { InstanceInvalidState } from '../common/errors.ts';
import type { Move } from '../wire/contracts/compute.ts';
import { TaskState, VmState } from '../wire/messages/instance-states.ts';
import type { Flavor } from './flavors.ts';
import { InstanceAction, startAction } from './instance-actions.ts';
import {
  changeInstance,
  updateInstance,
  type ExpectedStates,
  type Instance,
  type InstanceChanges,
} from './instances.ts';
import {
  createMigration,
  MigrationStatus,
  updateMigration,
  type MigrationRecord,
  type MigrationType,
} from './migrations.ts';
import { checkDeltas, lockProjectQuota, quotasEnforced, type OverQuota } from './quotas.ts';

export interface MoveRequest {
  type: Extract<MigrationType, 'resize' | 'migration'>;
  /** The flavor the server moves with (its own for a migration). */
  flavor: Flavor;
  /** The claim: the task (and what else) written if the server is in `expected`. */
  changes: InstanceChanges;
  expected: ExpectedStates;
  /** The instance action recorded with it. */
  action: string;
  config: Config;
  /** The refusal of a resize up over quota, in the caller's words. */
  overQuota(over: OverQuota, growth: { cores: number; ram: number }): string;
}

/** The cores and ram `to` adds to `from` (Nova's upsize_quota_delta); null when it adds neither. */
export function growthOf(from: Flavor, to: Flavor): { cores: number; ram: number } | null {
  const deltas = { cores: Math.max(0, to.vcpus - from.vcpus), ram: Math.max(0, to.memory_mb - from.memory_mb) };
  return deltas.cores || deltas.ram ? deltas : null;
}

/**
 * Starts a resize or migration, in one transaction: the quota check of a resize up (Nova's
 * _check_quota_for_upsize: the cores and ram it adds on top of what the project and the user use),
 * the server claimed, the migration (pre-migrating) and the action recorded. The check runs under the
 * project's quota lock, as a create's does, and the migration makes the server count its bigger flavor
 * from the commit on (objects/quotas.ts), so creates and other resizes racing for the same headroom,
 * from any API process, count this one: they cannot all pass. Throws QuotaExceeded (nothing written)
 * or InstanceInvalidState (the server changed meanwhile).
 */
export async function beginMove(
  db: Db,
  ctx: RequestContext,
  instance: Instance,
  request: MoveRequest,
): Promise<{ instance: Instance; migration: MigrationRecord }> {
  const growth = growthOf(instance.flavor, request.flavor);
  const config = request.config;
  return retryOnLockConflict(() =>
    db.transaction().execute(async (trx) => {
      if (growth && quotasEnforced(config)) {
        if (config.quota.recheck_quota) await lockProjectQuota(trx, instance.project_id);
        const scope = { projectId: instance.project_id, userId: instance.user_id };
        await checkDeltas(trx, config, growth, scope, (over) => request.overQuota(over, growth));
      }
      const claimed = await updateInstance(trx, instance.uuid, request.changes, request.expected);
      const migration = await createMigration(trx, {
        instance_uuid: instance.uuid,
        migration_type: request.type,
        source_compute: claimed.host!,
        source_node: claimed.node,
        old_flavor: claimed.flavor,
        new_flavor: request.flavor,
        user_id: ctx.userId ?? claimed.user_id,
        project_id: ctx.projectId ?? claimed.project_id,
      });
      await startAction(trx, ctx, instance.uuid, request.action);
      return { instance: claimed, migration };
    }),
  );
}

/** VERIFY_RESIZE with no task -> `task`, the migration finished -> `status`; InstanceInvalidState if either is not. */
async function beginVerifyStep(
  db: Db,
  ctx: RequestContext,
  instance: Instance,
  migration: MigrationRecord,
  step: { task: string; status: string; action: string },
): Promise<Instance> {
  const claimed = await updateInstance(
    db,
    instance.uuid,
    { task_state: step.task },
    { vmState: [VmState.RESIZED], taskState: [null] },
  );
  if (!(await updateMigration(db, migration.uuid, { status: step.status }, [MigrationStatus.FINISHED]))) {
    await changeInstance(db, instance.uuid, { task_state: null }, { taskState: [step.task] }).catch(() => undefined);
    throw new InstanceInvalidState(`Migration ${migration.uuid} of instance ${instance.uuid} is no longer finished.`);
  }
  await startAction(db, ctx, instance.uuid, step.action);
  return claimed;
}

export function beginConfirmResize(
  db: Db,
  ctx: RequestContext,
  instance: Instance,
  migration: MigrationRecord,
): Promise<Instance> {
  return beginVerifyStep(db, ctx, instance, migration, {
    task: TaskState.RESIZE_CONFIRMING,
    status: MigrationStatus.CONFIRMING,
    action: InstanceAction.CONFIRM_RESIZE,
  });
}

export function beginRevertResize(
  db: Db,
  ctx: RequestContext,
  instance: Instance,
  migration: MigrationRecord,
): Promise<Instance> {
  return beginVerifyStep(db, ctx, instance, migration, {
    task: TaskState.RESIZE_REVERTING,
    status: MigrationStatus.REVERTING,
    action: InstanceAction.REVERT_RESIZE,
  });
}

/** What the hosts are told of a migration that has its destination. */
export function moveOf(m: MigrationRecord): Move {
  return {
    migration_uuid: m.uuid,
    migration_type: m.migration_type === 'resize' ? 'resize' : 'migration',
    source_compute: m.source_compute!,
    source_node: m.source_node ?? m.source_compute!,
    dest_compute: m.dest_compute!,
    dest_node: m.dest_node ?? m.dest_compute!,
  };
}
