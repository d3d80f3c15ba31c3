/**
 * What the API does for resize or migrate, for confirmResize or revertResize, and for os-migrateLive,
 * made directly on an in-process cloud (tests and benchmarks of the move flows without the REST layer).
 */
import { adminContext } from '../../src/common/context.ts';
import type { Flavor } from '../../src/objects/flavors.ts';
import { startAction } from '../../src/objects/instance-actions.ts';
import { instancePayload } from '../../src/objects/instance-payload.ts';
import { updateInstance, type Instance } from '../../src/objects/instances.ts';
import {
  createMigration,
  migrationOfInstance,
  MigrationStatus,
  type MigrationRecord,
} from '../../src/objects/migrations.ts';
import { beginConfirmResize, beginRevertResize, moveOf } from '../../src/objects/resize-records.ts';
import type { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import type { TestCloud } from './in-process-cloud.ts';

/** Task resize_prep, the migration, the action, the cast; `flavor` the server's own for a migration. */
export async function startMoveAsApi(cloud: TestCloud, uuid: string, flavor?: Flavor): Promise<void> {
  const ctx = adminContext();
  const claimed = await updateInstance(
    cloud.database.db,
    uuid,
    { task_state: TaskState.RESIZE_PREP },
    { vmState: [VmState.ACTIVE, VmState.STOPPED], taskState: [null] },
  );
  const resize = flavor !== undefined && flavor.id !== claimed.flavor.id;
  const migration = await createMigration(cloud.database.db, {
    instance_uuid: uuid,
    migration_type: resize ? 'resize' : 'migration',
    source_compute: claimed.host!,
    source_node: claimed.node,
    old_flavor: claimed.flavor,
    new_flavor: resize ? flavor : claimed.flavor,
    user_id: claimed.user_id,
    project_id: claimed.project_id,
  });
  await startAction(cloud.database.db, ctx, uuid, resize ? 'resize' : 'migrate');
  await cloud.conductor.migrateServer(ctx, uuid, migration.uuid);
}

/** confirmResize (`confirm`) or revertResize of a server in VERIFY_RESIZE. */
export async function verifyAsApi(
  cloud: TestCloud,
  compute: ComputeRpcApi,
  instance: Instance,
  confirm: boolean,
): Promise<void> {
  const ctx = adminContext();
  const migration = await migrationOfInstance(cloud.database.db, instance.uuid, MigrationStatus.FINISHED);
  if (!migration) throw new Error(`server ${instance.uuid} in VERIFY_RESIZE has no finished migration`);
  const move = moveOf(migration);
  if (confirm) {
    const claimed = await beginConfirmResize(cloud.database.db, ctx, instance, migration);
    await compute.moveStep(ctx, move.source_compute, 'confirm_resize', instancePayload(claimed), move);
  } else {
    const claimed = await beginRevertResize(cloud.database.db, ctx, instance, migration);
    await compute.moveStep(ctx, move.dest_compute, 'revert_resize', instancePayload(claimed), move);
  }
}

/** os-migrateLive: task migrating, the migration (accepted), the action, the cast; `host` forced if `force`. */
export async function liveMigrateAsApi(
  cloud: TestCloud,
  uuid: string,
  host?: string,
  force = false,
): Promise<MigrationRecord> {
  const instance = await updateInstance(
    cloud.database.db,
    uuid,
    { task_state: TaskState.MIGRATING },
    { vmState: [VmState.ACTIVE, VmState.PAUSED], taskState: [null] },
  );
  const migration = await createMigration(cloud.database.db, {
    instance_uuid: uuid,
    migration_type: 'live-migration',
    status: MigrationStatus.ACCEPTED,
    source_compute: instance.host!,
    source_node: instance.node,
    dest_compute: host ?? null,
    old_flavor: instance.flavor,
    new_flavor: instance.flavor,
    user_id: instance.user_id,
    project_id: instance.project_id,
  });
  const ctx = adminContext();
  await startAction(cloud.database.db, ctx, uuid, 'live-migration');
  await cloud.conductor.liveMigrateInstance(ctx, {
    uuid,
    migration_uuid: migration.uuid,
    ...(host ? { host } : {}),
    force,
    block_migration: null,
  });
  return migration;
}
