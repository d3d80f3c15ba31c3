/**
 * Registration and heartbeat for the services that reach the database themselves (conductor, scheduler).
 * Compute hosts report through the conductor instead (compute/manager.ts).
 */
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { NotFound } from '../common/errors.ts';
import { recordHeartbeat, registerService, type ServiceBinary } from '../objects/services.ts';
import { PeriodicTask } from './periodic.ts';

export async function startDbHeartbeat(
  database: Database,
  config: Config,
  binary: ServiceBinary,
  topic: string,
): Promise<PeriodicTask> {
  const host = config.DEFAULT.host;
  await registerService(database.db, host, binary, topic);
  const task = new PeriodicTask(`${binary} heartbeat`, config.DEFAULT.report_interval * 1000, async () => {
    try {
      await recordHeartbeat(database.db, host, binary);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      await registerService(database.db, host, binary, topic); // deleted by an operator: register again
    }
  });
  task.start(false);
  return task;
}
