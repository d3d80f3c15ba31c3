/**
 * The compute service of one host: waits for the conductor, settles its instances (init_host), then
 * serves `compute.<host>` and runs its periodic duties: heartbeat, resource report, power-state sync,
 * guests of deleted instances, image cache.
 */
import type { Config } from '../common/config/load-config.ts';
import { adminContext } from '../common/context.ts';
import { getLogger } from '../common/log/logger.ts';
import { notifierFromConfig } from '../common/notifications/notifier.ts';
import { MessageDeliveryFailure, MessagingTimeout, RpcServer } from '../common/rpc/index.ts';
import type { Bus } from '../runtime/bus.ts';
import { PeriodicTask } from '../runtime/periodic.ts';
import type { RunningService } from '../runtime/service.ts';
import { imageClientFromConfig } from './image/image-client.ts';
import { ComputeManager } from './manager.ts';
import { computeEndpoints } from './rpc.ts';
import { conductorVersionCap } from './conductor-version.ts';
import { ObservedConductor } from './notifications/observed-conductor.ts';
import { InstanceTracker } from './notifications/tracker.ts';
import { createDriver } from './virt/driver-factory.ts';
import { createNetworkDriver } from './network/network-driver-factory.ts';

const log = getLogger('compute');

/** The start-up gave up because the process was asked to stop (the signal's drain exits cleanly). */
class StartupAborted extends Error {}

/** `stop`: aborted when the process is asked to stop while this still waits for the conductor. */
export async function startCompute(config: Config, bus: Bus, stop?: AbortSignal): Promise<RunningService> {
  const host = config.DEFAULT.host;
  // One image client (one service-user token) for the driver's downloads and the snapshot uploads.
  const images = imageClientFromConfig(config);
  // Nova's publisher id, so consumers that filter on it (nova-compute:*) take these as Nova's.
  const notifier = notifierFromConfig(config, bus.transport, `nova-compute:${host}`);
  const tracker = new InstanceTracker();
  const conductor = new ObservedConductor(
    bus.rpc,
    conductorVersionCap(config, bus.rpc),
    tracker,
    notifier,
    config.notifications.notify_on_state_change as 'vm_state' | 'vm_and_task_state' | null,
  );
  // The datapath beside the virt driver: the fake driver's guests get one that plugs nothing.
  const network = createNetworkDriver(config);
  const manager = new ComputeManager(host, config, createDriver(config, images), network, conductor, images);
  await waitForConductor(() => manager.initHost(), stop);
  const server = new RpcServer(bus.transport, { ...computeEndpoints(manager, { notifier, tracker }), server: host });
  await server.start();
  const periodic = config.DEFAULT.periodic_interval * 1000;
  /**
   * Nova's interval options, in seconds: negative never runs; 0 runs every periodic_interval
   * (sync_power_state_interval, [image_cache] manager_interval) or never
   * (running_deleted_instance_poll_interval, `zeroIsPeriodic` false).
   */
  const every = (seconds: number, zeroIsPeriodic = true): number | null =>
    seconds < 0 || (seconds === 0 && !zeroIsPeriodic) ? null : seconds === 0 ? periodic : seconds * 1000;
  const duties: [string, number | null, () => Promise<void>][] = [
    ['compute heartbeat', config.DEFAULT.report_interval * 1000, () => manager.reportHeartbeat()],
    ['update available resource', periodic, () => manager.reportResources()],
    ['sync power states', every(config.DEFAULT.sync_power_state_interval), () => manager.syncPowerStates()],
    [
      'cleanup running deleted instances',
      every(config.DEFAULT.running_deleted_instance_poll_interval, false),
      () => manager.cleanupRunningDeletedInstances(),
    ],
    ['manage image cache', every(config.image_cache.manager_interval), () => manager.manageImageCache()],
    // Nova runs it every periodic_interval; it does nothing while soft delete is off.
    [
      'reclaim queued deletes',
      config.DEFAULT.reclaim_instance_interval > 0 ? periodic : null,
      () => manager.reclaimQueuedDeletes(),
    ],
    [
      'poll shelved instances',
      config.DEFAULT.shelved_offload_time > 0 ? every(config.DEFAULT.shelved_poll_interval) : null,
      () => manager.shelving.offloadDueShelved(),
    ],
    // Nova's _check_instance_build_time and _poll_rebooting_instances, and deletes left unfinished
    // (stuck-tasks.ts), every periodic_interval.
    ['check stuck tasks', periodic, () => manager.watchdog.check()],
    // Nova's _poll_unconfirmed_resizes, every periodic_interval while resize_confirm_window is set.
    [
      'poll unconfirmed resizes',
      config.DEFAULT.resize_confirm_window > 0 ? periodic : null,
      () => manager.moves.confirmDueResizes(adminContext()),
    ],
  ];
  const tasks = duties.flatMap(([name, ms, run]) => (ms === null ? [] : [new PeriodicTask(name, ms, run)]));
  for (const task of tasks) task.start(false);
  return {
    name: `compute ${host}`,
    stop: async () => {
      await server.stop();
      await Promise.all(tasks.map((t) => t.stop()));
      await manager.shutdown();
      await notifier.flush();
    },
  };
}

/**
 * Compute cannot work without the conductor; like nova-compute it waits for it, saying so, until it
 * answers or the process is asked to stop.
 */
async function waitForConductor(init: () => Promise<void>, stop?: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await init();
    } catch (err) {
      if (!(err instanceof MessagingTimeout || err instanceof MessageDeliveryFailure)) throw err;
      if (stop?.aborted) throw new StartupAborted('stopped while waiting for the conductor');
      log.warn({ attempt, err: err.message }, 'waiting for the conductor to answer (is stratus conductor running?)');
      await abortableDelay(Math.min(1000 * attempt, 5000), stop);
      if (stop?.aborted) throw new StartupAborted('stopped while waiting for the conductor');
    }
  }
}

function abortableDelay(ms: number, stop?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    }
    stop?.addEventListener('abort', done, { once: true });
  });
}
