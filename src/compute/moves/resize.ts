/**
 * The compute hosts' steps of a resize or cold migration (Nova's compute manager prep_resize,
 * resize_instance, finish_resize, confirm_resize, revert_resize and finish_revert_resize). The conductor
 * casts each step to the host whose turn it is and, once the host reports it through `move_step`,
 * records it (migration status, task state, allocations, port bindings) and casts the next:
 *
 *   prep_resize (dest) -> resize_instance (source) -> finish_resize (dest) -> VERIFY_RESIZE
 *   confirm_resize (source)                        -> ACTIVE or SHUTOFF on the destination
 *   revert_resize (dest) -> finish_revert_resize (source) -> back where it was, with the old flavor
 *
 * A host only does its part and reports, with the error when it failed (after undoing what it did
 * itself, such as powering the source's guest on again); the conductor puts the rest back. Source and
 * destination may be one host (allow_resize_to_same_host): its guest and interfaces then stay put, and
 * the driver keeps the old size beside the guest for a revert.
 */
import type { RequestContext } from '../../common/context.ts';
import { ResizeError } from '../../common/errors.ts';
import { getLogger } from '../../common/log/logger.ts';
import type { Move } from '../../wire/contracts/compute.ts';
import type { MoveStepName } from '../../wire/contracts/conductor.ts';
import type { DiskSource } from '../../wire/messages/disk-source.ts';
import type { InstancePayload } from '../../wire/messages/instance-payload.ts';
import { PowerState, TaskState } from '../../wire/messages/instance-states.ts';
import type { NetworkInfo } from '../../wire/messages/network-info.ts';
import type { Selection } from '../../wire/messages/request-spec.ts';
import type { HostActionSteps } from '../host-action-steps.ts';
import type { GuestMoves } from '../virt/driver.ts';

const log = getLogger('compute.moves');

const sameHost = (move: Move) => move.source_compute === move.dest_compute;

/** What a step reports beside its name: where the disks are fetched from, after resize_instance. */
interface StepResult {
  disk_source?: DiskSource;
}

export class ResizeFlows {
  constructor(private readonly h: HostActionSteps) {}

  /** Destination: can this host take the guest? Nothing is changed here yet. */
  async prepResize(
    ctx: RequestContext,
    instance: InstancePayload,
    move: Move,
    alternates: Selection[] = [],
  ): Promise<void> {
    await this.step(
      ctx,
      instance,
      move,
      'compute_prep_resize',
      'prepared',
      async () => {
        const moves = this.moves();
        if (!this.h.driver.nodes().some((n) => n.nodename === move.dest_node)) {
          throw new ResizeError(`node ${move.dest_node} is not on host ${this.h.host}`);
        }
        if (!sameHost(move) && this.h.driver.listGuests().some((g) => g.uuid === instance.uuid)) {
          throw new ResizeError(`host ${this.h.host} already has a guest of instance ${instance.uuid}`);
        }
        await moves.checkCanReceive?.(instance, move.dest_node);
      },
      undefined,
      alternates,
    );
  }

  /** Source: the guest is powered off and its disks handed to the destination; a failure restarts it. */
  async resizeInstance(ctx: RequestContext, instance: InstancePayload, move: Move): Promise<void> {
    const wasRunning = this.h.driver.powerState(instance.uuid) === PowerState.RUNNING;
    await this.step(
      ctx,
      instance,
      move,
      'compute_resize_instance',
      'migrated',
      async () => {
        const timeout = this.h.config.DEFAULT.shutdown_timeout;
        const source = await this.moves().migrateDiskAndPowerOff(instance, move.dest_compute, timeout);
        return source ? { disk_source: source } : {};
      },
      async () => {
        // Left as it was: a guest that ran before the move runs again.
        if (wasRunning && this.h.driver.powerState(instance.uuid) !== PowerState.RUNNING) {
          await this.h.driver.powerOn(instance.uuid);
        }
      },
    );
  }

  /** Destination: the guest is set up here with the new flavor, its ports plugged first. */
  async finishResize(
    ctx: RequestContext,
    instance: InstancePayload,
    move: Move,
    networkInfo: NetworkInfo,
    powerOn: boolean,
    diskSource: DiskSource | null = null,
  ): Promise<void> {
    // Member changes that arrive from here on postdate the request's rules: the plug applies them.
    const membersSince = this.h.networking.memberMark();
    await this.h
      .update(ctx, instance.uuid, { task_state: TaskState.RESIZE_FINISH }, [TaskState.RESIZE_MIGRATED])
      .catch((err: Error) => log.warn({ instance: instance.uuid, err: err.message }, 'could not set resize_finish'));
    await this.step(
      ctx,
      instance,
      move,
      'compute_finish_resize',
      'finished',
      async () => {
        await this.h.networking.plugGuest(instance, networkInfo, membersSince);
        await this.moves().finishMigration(instance, move.dest_node, networkInfo, powerOn, diskSource);
      },
      // What this host set up goes; on the source's own host the guest is the source's to restore.
      () => this.removeDestinationGuest(instance, move),
    );
  }

  /** Source: the move stands; what it left here (the old guest, its interfaces) goes. */
  async confirmResize(ctx: RequestContext, instance: InstancePayload, move: Move): Promise<void> {
    await this.step(ctx, instance, move, 'compute_confirm_resize', 'confirmed', async () => {
      await this.moves().confirmMigration(instance.uuid);
      if (!sameHost(move)) await this.h.networking.unplugGuest(instance.uuid, true);
    });
  }

  /** Destination: the move is undone; the new guest and its interfaces here go. */
  async revertResize(ctx: RequestContext, instance: InstancePayload, move: Move): Promise<void> {
    await this.step(ctx, instance, move, 'compute_revert_resize', 'reverted_dest', () =>
      this.removeDestinationGuest(instance, move),
    );
  }

  /**
   * The destination's guest and its interfaces go (a failed finish, a revert); on a same-host move the
   * guest is the source's, left for the source's step to restore.
   */
  private async removeDestinationGuest(instance: InstancePayload, move: Move): Promise<void> {
    if (sameHost(move)) return;
    await this.h.driver.destroy(instance.uuid);
    await this.h.networking.unplugGuest(instance.uuid, true);
  }

  /** Source: the old guest comes back with the old flavor and its ports bound here again. */
  async finishRevertResize(
    ctx: RequestContext,
    instance: InstancePayload,
    move: Move,
    networkInfo: NetworkInfo,
    powerOn: boolean,
  ): Promise<void> {
    const membersSince = this.h.networking.memberMark();
    await this.step(ctx, instance, move, 'compute_finish_revert_resize', 'reverted', async () => {
      await this.h.networking.plugGuest(instance, networkInfo, membersSince);
      await this.moves().finishRevertMigration(instance, networkInfo, powerOn);
    });
  }

  /**
   * One step: its action event, the work, then the report to the conductor, which casts the next step
   * (or, with the error, puts things back). `undo` cleans up what the failed work left on this host.
   */
  private async step(
    ctx: RequestContext,
    instance: InstancePayload,
    move: Move,
    event: string,
    report: MoveStepName,
    work: () => Promise<StepResult | void>,
    undo?: () => Promise<void>,
    /** prep_resize's alternates: sent back with a failure, for the conductor to reschedule. */
    alternates?: Selection[],
  ): Promise<void> {
    const uuid = instance.uuid;
    await this.h.event(ctx, uuid, event, 'start');
    let failure: Error | undefined;
    let result: StepResult | void = undefined;
    try {
      result = await work();
    } catch (err) {
      failure = err as Error;
      log.warn({ instance: uuid, migration: move.migration_uuid, event, err: failure.message }, 'move step failed');
      await undo?.().catch((e: Error) =>
        log.error({ instance: uuid, event, err: e.message }, 'could not clean up after the failed move step'),
      );
    }
    await this.h.event(ctx, uuid, event, 'finish', failure);
    await this.h.conductor.moveStep(ctx, {
      migration_uuid: move.migration_uuid,
      step: report,
      host: this.h.host,
      power_state: this.h.driver.powerState(uuid),
      ...(failure ? { error: { message: failure.message, traceback: failure.stack ?? '' } } : (result ?? {})),
      ...(failure && alternates?.length ? { alternates } : {}),
    });
    if (!failure) log.info({ instance: uuid, migration: move.migration_uuid, step: report }, 'move step done');
  }

  private moves(): GuestMoves {
    const moves = this.h.driver.moves;
    if (!moves) throw new ResizeError(`The hypervisor of host ${this.h.host} cannot resize or migrate servers.`);
    return moves;
  }

  /** Periodic (resize_confirm_window): the conductor confirms the resizes finished here long enough ago. */
  async confirmDueResizes(ctx: RequestContext): Promise<void> {
    const window = this.h.config.DEFAULT.resize_confirm_window;
    if (window > 0) await this.h.conductor.confirmDueResizes(ctx, this.h.host, window);
  }
}
