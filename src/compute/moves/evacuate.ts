/**
 * The compute side of evacuate (Nova's rebuild_instance with recreate, and _destroy_evacuated_instances):
 * - on the destination, the guest of a server whose host is down is built here anew from its image (the
 *   rebuild's task states: rebuilding, rebuild_block_device_mapping, rebuild_spawning), its ports already
 *   bound here; the conductor is told how it went. A failure removes what was set up here first.
 * - on the source, when its compute starts again: the guests the records say were evacuated away are
 *   removed with their interfaces, before anything else looks at the host's guests.
 */
import type { RequestContext } from '../../common/context.ts';
import { BuildFailed } from '../../common/errors.ts';
import { getLogger } from '../../common/log/logger.ts';
import type { RebuildArgs } from '../../wire/contracts/compute.ts';
import { TaskState } from '../../wire/messages/instance-states.ts';
import type { HostActionSteps } from '../host-action-steps.ts';
import { configDriveContents } from '../config-drive.ts';
import { REBUILD_EVENT } from '../rebuild.ts';

const log = getLogger('compute.evacuate');

export type Recreate = NonNullable<RebuildArgs['recreate']>;

export async function recreateInstance(
  h: HostActionSteps,
  ctx: RequestContext,
  args: RebuildArgs,
  recreate: Recreate,
): Promise<void> {
  const { instance } = args;
  const uuid = instance.uuid;
  // Member changes that arrive from here on postdate the request's rules: the plug applies them.
  const membersSince = h.networking.memberMark();
  await h.event(ctx, uuid, REBUILD_EVENT, 'start');
  let failure: Error | undefined;
  let setUp = false;
  try {
    if (h.driver.listGuests().some((guest) => guest.uuid === uuid)) {
      throw new BuildFailed(`host ${h.host} already has a guest of instance ${uuid}; it cannot be evacuated here`);
    }
    await h.update(ctx, uuid, { task_state: TaskState.REBUILD_BLOCK_DEVICE_MAPPING }, [TaskState.REBUILDING]);
    await h.update(ctx, uuid, { task_state: TaskState.REBUILD_SPAWNING }, [TaskState.REBUILD_BLOCK_DEVICE_MAPPING]);
    setUp = true;
    // Plugged first: qemu opens the guest's taps by name when it starts.
    await h.networking.plugGuest(instance, recreate.network_info, membersSince);
    // A config drive is written afresh here: the one the source wrote went down with it.
    await h.driver.spawn(instance, recreate.node, recreate.network_info, configDriveContents(args.config_drive));
    if (!recreate.start) await h.driver.powerOff(uuid, h.config.DEFAULT.shutdown_timeout);
  } catch (err) {
    failure = err as Error;
    log.warn({ instance: uuid, migration: recreate.migration_uuid, err: failure.message }, 'evacuation failed here');
    if (setUp) {
      await h.driver.destroy(uuid).catch((e: Error) => log.error({ instance: uuid, err: e.message }, 'cleanup failed'));
      await h.networking.unplugGuest(uuid, true).catch(() => undefined);
    }
  }
  await h.event(ctx, uuid, REBUILD_EVENT, 'finish', failure);
  await h.conductor.evacuationRebuilt(ctx, {
    migration_uuid: recreate.migration_uuid,
    host: h.host,
    power_state: h.driver.powerState(uuid),
    ...(failure ? { error: { message: failure.message, traceback: failure.stack ?? '' } } : {}),
  });
  if (!failure) log.info({ instance: uuid, node: recreate.node, started: recreate.start }, 'evacuated guest built');
}

/** At start-up, before the host's guests are settled: what was evacuated away from here goes. */
export async function destroyEvacuatedGuests(h: HostActionSteps, ctx: RequestContext): Promise<void> {
  for (const evacuated of await h.conductor.evacuationsFromHost(ctx, h.host)) {
    const uuid = evacuated.instance_uuid;
    try {
      log.info({ instance: uuid, migration: evacuated.migration_uuid }, 'removing the guest evacuated from this host');
      await h.driver.destroy(uuid);
      await h.networking.unplugGuest(uuid, true);
      await h.conductor.evacuationCleaned(ctx, evacuated.migration_uuid, h.host);
    } catch (err) {
      // Left for the next start; the server runs elsewhere meanwhile.
      log.error({ instance: uuid, err: (err as Error).message }, 'could not remove an evacuated guest');
    }
  }
}
