/** The conductor service: its RPC server on the `conductor` topic and its heartbeat. */
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { RpcServer } from '../common/rpc/index.ts';
import { ComputeRpcApi } from '../compute/rpc.ts';
import { startDbHeartbeat } from '../runtime/db-heartbeat.ts';
import type { Bus } from '../runtime/environment.ts';
import type { RunningService } from '../runtime/service.ts';
import { SchedulerRpcApi } from '../scheduler/rpc.ts';
import { ConductorManager } from './manager.ts';
import { CONDUCTOR_TOPIC, conductorEndpoints } from './rpc.ts';

export async function startConductor(config: Config, database: Database, bus: Bus): Promise<RunningService> {
  const manager = new ConductorManager(database, config, new SchedulerRpcApi(bus.rpc), new ComputeRpcApi(bus.rpc));
  const server = new RpcServer(bus.transport, {
    topic: CONDUCTOR_TOPIC,
    server: config.DEFAULT.host,
    endpoints: conductorEndpoints(manager),
  });
  await server.start();
  const heartbeat = await startDbHeartbeat(database, config, 'stratus-conductor', CONDUCTOR_TOPIC);
  return {
    name: 'conductor',
    stop: async () => {
      await server.stop();
      await heartbeat.stop();
    },
  };
}
