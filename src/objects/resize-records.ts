/**
 * The records that start each user step of a resize or migration, shared by the API and the conductor's
 * resize_confirm_window: the instance claimed by its task (so of two racing requests one wins), the
 * migration moved on from the status it must be in, and the instance action recorded (Nova's
 * resize/migrate, confirmResize, revertResize).
 */
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { InstanceInvalidState } from '../common/errors.ts';
import type { Move } from '../wire/contracts/compute.ts';
import { TaskState, VmState } from '../wire/messages/instance-states.ts';
import { InstanceAction, startAction } from './instance-actions.ts';
import { changeInstance, updateInstance, type Instance } from './instances.ts';
import { MigrationStatus, updateMigration, type MigrationRecord } from './migrations.ts';

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
