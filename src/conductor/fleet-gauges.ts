/**
 * The gauges read from the database rather than counted as things happen: instances by vm_state and
 * the age of each service's last heartbeat. The conductor refreshes them every report_interval with two
 * small queries (one GROUP BY over live instances, one over the services table), not on every scrape, so
 * a Prometheus scraping often, or several, costs the database nothing more. Every conductor exports
 * them; they read the same database, so a dashboard takes any one (max by labels).
 */
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { instancesByState, serviceHeartbeatAge } from '../common/metrics/metrics.ts';
import { PeriodicTask } from '../runtime/periodic.ts';

export async function refreshFleetGauges(database: Database, at = Date.now()): Promise<void> {
  const states = await database.db
    .selectFrom('instances')
    .select(['vm_state', (eb) => eb.fn.countAll<number | string | bigint>().as('count')])
    .where('deleted', '=', 0)
    .groupBy('vm_state')
    .execute();
  // Reset first: a state no instance is in any more must read 0, not its last count.
  instancesByState.reset();
  for (const row of states) instancesByState.set({ vm_state: row.vm_state }, Number(row.count));

  const services = await database.db
    .selectFrom('services')
    .select(['host', 'binary', 'last_seen_up', 'created_at'])
    .execute();
  serviceHeartbeatAge.reset();
  for (const s of services) {
    const seen = Date.parse(s.last_seen_up ?? s.created_at);
    if (Number.isFinite(seen))
      serviceHeartbeatAge.set({ binary: s.binary, host: s.host }, Math.max(0, (at - seen) / 1000));
  }
}

export function startFleetGauges(database: Database, config: Config): PeriodicTask {
  const task = new PeriodicTask('fleet gauges', config.DEFAULT.report_interval * 1000, () =>
    refreshFleetGauges(database),
  );
  task.start(true);
  return task;
}
