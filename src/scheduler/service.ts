/** The scheduler service: its RPC server on the `scheduler` topic and its heartbeat. */
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { notifierFromConfig } from '../common/notifications/notifier.ts';
import { RpcServer } from '../common/rpc/index.ts';
import { startDbHeartbeat } from '../runtime/db-heartbeat.ts';
import type { Bus } from '../runtime/bus.ts';
import type { RunningService } from '../runtime/service.ts';
import { SchedulerManager } from './manager.ts';
import { schedulerEndpoints } from './rpc.ts';

export async function startScheduler(config: Config, database: Database, bus: Bus): Promise<RunningService> {
  const manager = new SchedulerManager(database, config);
  const contract = schedulerEndpoints(manager);
  const server = new RpcServer(bus.transport, { ...contract, server: config.DEFAULT.host });
  await server.start();
  const notifier = notifierFromConfig(config, bus.transport, `nova-scheduler:${config.DEFAULT.host}`);
  const heartbeat = await startDbHeartbeat(database, config, 'stratus-scheduler', contract.topic, notifier);
  return {
    name: 'scheduler',
    stop: async () => {
      await server.stop();
      await heartbeat.stop();
      await notifier.flush();
    },
  };
}
