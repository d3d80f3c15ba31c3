/**
 * Registration and heartbeat for the services that reach the database themselves (conductor, scheduler).
 * Compute hosts report through the conductor instead (compute/manager.ts).
 */
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { adminContext } from '../common/context.ts';
import { NotFound } from '../common/errors.ts';
import type { Notifier } from '../common/notifications/notifier.ts';
import { emitServiceStatus } from '../common/notifications/service-status.ts';
import { recordHeartbeat, registerService, type ServiceBinary, type ServiceRecord } from '../objects/services.ts';
import { PeriodicTask } from './periodic.ts';

export async function startDbHeartbeat(
  database: Database,
  config: Config,
  binary: ServiceBinary,
  topic: string,
  /** The process's notifier: service.create when the service's row is new (first start, or deleted since). */
  notifier?: Notifier,
): Promise<PeriodicTask> {
  const host = config.DEFAULT.host;
  const created =
    notifier && ((service: ServiceRecord) => emitServiceStatus(notifier, adminContext(), 'create', service));
  await registerService(database.db, host, binary, topic, undefined, created);
  const task = new PeriodicTask(`${binary} heartbeat`, config.DEFAULT.report_interval * 1000, async () => {
    try {
      await recordHeartbeat(database.db, host, binary);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      await registerService(database.db, host, binary, topic, undefined, created); // deleted by an operator: register again
    }
  });
  task.start(false);
  return task;
}
