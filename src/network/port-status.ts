/**
 * A port's `status`, as Neutron's agents set it: DOWN until the host it is bound to has plugged it, ACTIVE
 * once it has, DOWN again when it is bound elsewhere or unbound. Compute hosts have no database: a host
 * reports a guest built, moved, unshelved or rebuilt on it (its ports plugged before the guest started)
 * through the conductor, and the conductor marks the guest's ports bound to that host as up. An interface
 * attached to a running guest is up once the host answered the attach call.
 */
import type { Db } from '../common/db/database.ts';
import { now } from '../common/db/schema.ts';

export const PORT_ACTIVE = 'ACTIVE';
export const PORT_DOWN = 'DOWN';

/**
 * Marks up the server's ports bound to the host it now runs on (only ports still DOWN: a report
 * repeated changes nothing and their revision stays). Answers how many changed.
 */
export async function serverPortsUp(db: Db, serverUuid: string, portIds?: readonly string[]): Promise<number> {
  const instance = await db
    .selectFrom('instances')
    .select('host')
    .where('uuid', '=', serverUuid)
    .where('deleted', '=', 0)
    .executeTakeFirst();
  if (!instance?.host) return 0;
  if (portIds !== undefined && portIds.length === 0) return 0;
  // Found by the device first: every port of a busy host has its binding, so a statement the planner may
  // serve from the host's index would pass all of them for each guest reported.
  const down = (
    await db
      .selectFrom('ports')
      .select(['id', 'binding_host_id', 'status'])
      .where('device_id', '=', serverUuid)
      .execute()
  ).filter(
    (p) =>
      p.binding_host_id === instance.host &&
      p.status !== PORT_ACTIVE &&
      (portIds === undefined || portIds.includes(p.id)),
  );
  if (down.length === 0) return 0;
  // The binding and status are asked again: the port may have been bound elsewhere since it was read.
  const result = await db
    .updateTable('ports')
    .set((eb) => ({
      status: PORT_ACTIVE,
      revision_number: eb('revision_number', '+', 1),
      updated_at: now(),
    }))
    .where(
      'id',
      'in',
      down.map((p) => p.id),
    )
    .where('binding_host_id', '=', instance.host)
    .where('status', '<>', PORT_ACTIVE)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
