/**
 * The conductor's part in ports' status (network/port-status.ts): a compute host's report that a guest
 * now runs on it with its ports plugged (a build, a move step, an unshelve, an evacuation's rebuild)
 * marks the guest's ports bound there as up, as Neutron's agent reports a device up once it is wired.
 * A report never fails for it: the guest's state is what the host reported; a port left DOWN is shown
 * as it is, and the guest's next report marks it.
 */
import type { Database } from '../common/db/database.ts';
import { getLogger } from '../common/log/logger.ts';
import { serverPortsUp } from '../network/port-status.ts';

const log = getLogger('conductor.network');

export class PortStatusReports {
  constructor(private readonly database: Database) {}

  /** After a report on the server: its ports bound to the host it runs on are up. */
  async guestPlugged(uuid: string): Promise<void> {
    try {
      const changed = await serverPortsUp(this.database.db, uuid);
      if (changed > 0) log.debug({ instance: uuid, ports: changed }, 'ports up');
    } catch (err) {
      log.warn({ instance: uuid, err: (err as Error).message }, 'could not mark the ports of a plugged guest up');
    }
  }

  /** After a report on a move: the moved server's ports bound to where it now runs are up. */
  async movedGuestPlugged(migrationUuid: string): Promise<void> {
    const migration = await this.database.db
      .selectFrom('migrations')
      .select('instance_uuid')
      .where('uuid', '=', migrationUuid)
      .executeTakeFirst()
      .catch(() => undefined);
    if (migration) await this.guestPlugged(migration.instance_uuid);
  }
}
