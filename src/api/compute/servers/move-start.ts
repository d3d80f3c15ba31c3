/**
 * What the API does alike for every move it hands to the conductor (resize and cold migration,
 * evacuate, live migration): the migration record of a move that keeps the flavor, and the cast that,
 * when the conductor cannot be reached, undoes the move's start so that nothing is left half begun.
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import { ServiceUnavailable } from '../../../common/errors.ts';
import { changeInstance, type Instance } from '../../../objects/instances.ts';
import {
  createMigration,
  MigrationStatus,
  updateMigration,
  type MigrationRecord,
  type MigrationType,
} from '../../../objects/migrations.ts';
import type { TaskState } from '../../../wire/messages/instance-states.ts';

/** Records a move of `claimed` that keeps its flavor (evacuate, live migration), accepted, to `destHost` if named. */
export function createSameFlavorMigration(
  db: Db,
  ctx: RequestContext,
  claimed: Instance,
  type: Extract<MigrationType, 'evacuation' | 'live-migration'>,
  destHost: string | null,
): Promise<MigrationRecord> {
  return createMigration(db, {
    instance_uuid: claimed.uuid,
    migration_type: type,
    status: MigrationStatus.ACCEPTED,
    source_compute: claimed.host!,
    source_node: claimed.node,
    dest_compute: destHost,
    old_flavor: claimed.flavor,
    new_flavor: claimed.flavor,
    user_id: ctx.userId ?? claimed.user_id,
    project_id: ctx.projectId ?? claimed.project_id,
  });
}

/**
 * Sends the move to the conductor. If it cannot be reached, the migration ends in error and the server's
 * task (`taskState`, set when the move was claimed) is cleared, and the client gets a 503 saying nothing
 * was done.
 */
export async function castMoveOrUndo(
  db: Db,
  instanceUuid: string,
  migrationUuid: string,
  taskState: TaskState,
  cast: () => Promise<unknown>,
): Promise<void> {
  try {
    await cast();
  } catch (err) {
    await updateMigration(db, migrationUuid, { status: MigrationStatus.ERROR });
    await changeInstance(db, instanceUuid, { task_state: null }, { taskState: [taskState] }).catch(() => undefined);
    throw new ServiceUnavailable(`The conductor could not be reached; nothing was done: ${(err as Error).message}`);
  }
}
