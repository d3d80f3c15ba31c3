/**
 * What a rebuild writes into an instance before compute starts (as Nova's compute API saves it): the new
 * image, the attributes the request changed, task_state rebuilding and, if given, the new metadata (which
 * replaces the old), in one transaction guarded by the states the rebuild may start from. If the cast to
 * compute then fails, the same function puts the old values back.
 */
import type { Db } from '../common/db/database.ts';
import { now, type InstancesTable } from '../common/db/schema.ts';
import { InstanceInvalidState } from '../common/errors.ts';
import type { ExpectedStates } from './instances.ts';

/** The columns of an instance a rebuild may set. */
export type RebuildColumns = Partial<
  Pick<
    InstancesTable,
    | 'image_ref'
    | 'task_state'
    | 'display_name'
    | 'display_description'
    | 'access_ip_v4'
    | 'access_ip_v6'
    | 'auto_disk_config'
    | 'key_name'
    | 'key_data'
    | 'key_type'
    | 'user_data'
    | 'hostname'
    | 'admin_pass'
    | 'progress'
    | 'config_drive'
  >
>;

/**
 * Writes `columns` (and `metadata`, replacing all of it, unless undefined) if the instance is live and in
 * the `expected` states; InstanceInvalidState otherwise, with nothing written.
 */
export async function writeRebuildRecord(
  db: Db,
  uuid: string,
  columns: RebuildColumns,
  metadata: Readonly<Record<string, string>> | undefined,
  expected: Required<Omit<ExpectedStates, 'host'>>,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const tasks = expected.taskState.filter((task): task is string => task !== null);
    const result = await trx
      .updateTable('instances')
      .set({ ...columns, updated_at: now() })
      .where('uuid', '=', uuid)
      .where('deleted', '=', 0)
      .where('vm_state', 'in', [...expected.vmState])
      .where((eb) => {
        const alternatives = [];
        if (tasks.length) alternatives.push(eb('task_state', 'in', tasks));
        if (expected.taskState.includes(null)) alternatives.push(eb('task_state', 'is', null));
        return eb.or(alternatives);
      })
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) {
      throw new InstanceInvalidState(`Instance ${uuid} is not in a state a rebuild may change.`);
    }
    if (metadata === undefined) return;
    await trx.deleteFrom('instance_metadata').where('instance_uuid', '=', uuid).execute();
    const rows = Object.entries(metadata).map(([key, value]) => ({ instance_uuid: uuid, key, value }));
    if (rows.length) await trx.insertInto('instance_metadata').values(rows).execute();
  });
}
