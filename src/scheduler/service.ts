/** The scheduler service: its RPC server on the `scheduler` topic and its heartbeat. */
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { RpcServer } from '../common/rpc/index.ts';
import { startDbHeartbeat } from '../runtime/db-heartbeat.ts';
import type { Bus } from '../runtime/environment.ts';
import type { RunningService } from '../runtime/service.ts';
import { SchedulerManager } from './manager.ts';
import { SCHEDULER_TOPIC, schedulerEndpoints } from './rpc.ts';

export async function startScheduler(config: Config, database: Database, bus: Bus): Promise<RunningService> {
  const manager = new SchedulerManager(database, config);
  const server = new RpcServer(bus.transport, {
    topic: SCHEDULER_TOPIC,
    server: config.DEFAULT.host,
    endpoints: schedulerEndpoints(manager),
  });
  await server.start();
  const heartbeat = await startDbHeartbeat(database, config, 'stratus-scheduler', SCHEDULER_TOPIC);
  return {
    name: 'scheduler',
    stop: async () => {
      await server.stop();
      await heartbeat.stop();
    },
  };
}
