/** The conductor service: its RPC server on the `conductor` topic and its heartbeat. */
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { adminContext } from '../common/context.ts';
import { notifierFromConfig } from '../common/notifications/notifier.ts';
import { RpcServer } from '../common/rpc/index.ts';
import { PeriodicTask } from '../runtime/periodic.ts';
import { startDbHeartbeat } from '../runtime/db-heartbeat.ts';
import type { Bus } from '../runtime/bus.ts';
import type { RunningService } from '../runtime/service.ts';
import { imageClientFromConfig } from '../compute/image/image-client.ts';
import { startFleetGauges } from './fleet-gauges.ts';
import { ConductorManager } from './manager.ts';
import { conductorEndpoints } from './rpc.ts';
import { databaseVersionCaps } from '../runtime/version-caps.ts';
import { ComputeRpcApi } from '../wire/contracts/compute.ts';
import { PortStatusReports } from './port-status-reports.ts';
import { SchedulerRpcApi } from '../wire/contracts/scheduler.ts';

export async function startConductor(config: Config, database: Database, bus: Bus): Promise<RunningService> {
  const caps = databaseVersionCaps(config, database);
  // service.create for the conductor itself and for compute hosts registering through it.
  const notifier = notifierFromConfig(config, bus.transport, `nova-conductor:${config.DEFAULT.host}`);
  const manager = new ConductorManager(
    database,
    config,
    new SchedulerRpcApi(bus.rpc, caps.scheduler),
    new ComputeRpcApi(bus.rpc, caps.compute),
    imageClientFromConfig(config),
    notifier,
  );
  const contract = conductorEndpoints(manager, new PortStatusReports(database));
  const server = new RpcServer(bus.transport, { ...contract, server: config.DEFAULT.host });
  await server.start();
  const heartbeat = await startDbHeartbeat(database, config, 'stratus-conductor', contract.topic, notifier);
  const gauges = config.metrics.enabled ? startFleetGauges(database, config) : null;
  // instance_build_timeout for the builds no compute host will end (build-watchdog.ts).
  const watchdog =
    config.DEFAULT.instance_build_timeout > 0
      ? new PeriodicTask('fail orphaned builds', config.DEFAULT.periodic_interval * 1000, () =>
          manager.failOrphanedBuilds(adminContext()),
        )
      : null;
  watchdog?.start(false);
  // Builds interrupted by a conductor that died or a message lost with the broker (build-redelivery.ts).
  // ... and deletes whose host died with their terminate_instance (delete-watchdog.ts).
  const resumer = new PeriodicTask(
    'resume interrupted builds and deletes',
    config.DEFAULT.periodic_interval * 1000,
    async () => {
      await manager.resumeInterruptedBuilds(adminContext());
      await manager.finishOrphanedDeletes(adminContext());
    },
  );
  resumer.start(false);
  return {
    name: 'conductor',
    stop: async () => {
      await server.stop();
      await heartbeat.stop();
      await gauges?.stop();
      await watchdog?.stop();
      await resumer.stop();
      await notifier.flush();
    },
  };
}
