/**
 * Recording a build's start and end through a broker or database restart. The compute host records them
 * with instance_update calls to the conductor, and a call fails at once when the connection to the broker
 * is lost, or times out when the conductor waits for its database: a build whose end was not recorded
 * would stay BUILD/spawning with its guest running. So each record is sent again while the bus is away
 * (bus-retry.ts). A record is guarded by the task state it expects; a first attempt whose reply alone was
 * lost was applied, and its retry is refused: the instance as it now is says whether that refusal is the
 * first attempt's success.
 */
import type { RequestContext } from '../common/context.ts';
import { InstanceInvalidState } from '../common/errors.ts';
import { retryWhileBusAway } from '../common/rpc/bus-retry.ts';
import type { InstanceChangesPayload, InstancePayload } from '../wire/messages/instance-payload.ts';
import type { HostActionSteps } from './host-action-steps.ts';

/** The builds a build_and_run_instance handler of this process is working on. */
export class BuildsUnderWay {
  private readonly uuids = new Set<string>();

  /** False if a handler of this process is already building `uuid` (a copy of its message delivered again). */
  take(uuid: string): boolean {
    if (this.uuids.has(uuid)) return false;
    this.uuids.add(uuid);
    return true;
  }

  release(uuid: string): void {
    this.uuids.delete(uuid);
  }

  has(uuid: string): boolean {
    return this.uuids.has(uuid);
  }
}

/**
 * `changes` recorded if the task is one of `expected` and the instance is placed on this host (a build
 * rescheduled elsewhere is not this host's to start or end), sent again while the broker or the reply is lost
 * (for up to three rpc_response_timeouts, long enough for a broker or database restart). A refusal after
 * a retry is taken as success if `applied` says the instance already shows the change.
 */
export async function recordBuildStep(
  h: Pick<HostActionSteps, 'host' | 'config' | 'conductor' | 'update'>,
  ctx: RequestContext,
  uuid: string,
  changes: InstanceChangesPayload,
  expected: readonly (string | null)[],
  event: { event: string; phase: 'start' | 'finish' },
  applied: (now: InstancePayload) => boolean,
): Promise<void> {
  let attempts = 0;
  const patienceMs = 3 * h.config.DEFAULT.rpc_response_timeout * 1000;
  try {
    await retryWhileBusAway(
      `instance_update of ${uuid}`,
      () => {
        attempts += 1;
        return h.update(ctx, uuid, changes, expected, event, undefined, true);
      },
      patienceMs,
    );
  } catch (err) {
    if (attempts < 2 || !(err instanceof InstanceInvalidState)) throw err;
    const [now] = await h.conductor.instancesOnHost(ctx, h.host, uuid);
    if (!now || !applied(now)) throw err;
  }
}
