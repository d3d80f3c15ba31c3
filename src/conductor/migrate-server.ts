/**
 * The conductor's part of resize and cold migration (Nova's conductor migrate_server and the records
 * its compute manager keeps through the conductor here):
 * - migrate_server: the source's allocation goes under the migration's uuid (Nova's migration-based
 *   allocations), the scheduler picks a destination for the new flavor and claims it for the instance
 *   (the source left out unless a resize may stay there; an admin's host, 2.56, as the requested
 *   destination), then prep_resize is cast to it. No valid host puts the allocation back: the server
 *   stays as it was, with a fault, the migration in error.
 * - move_step: each host reports its step; the conductor records it and casts the next (see
 *   compute/moves/resize.ts for the order). The ports are bound to the destination before finish_resize
 *   and back to the source before finish_revert_resize.
 * - confirm drops the migration's allocation (the source's share); revert drops the instance's (the
 *   destination's) and hands the migration's back to the instance. So each host's usage counts exactly
 *   the guests it holds or may get back, never one twice.
 * - a failed step before the guest is finished on the destination leaves the server where it was, as it
 *   was; a failed confirm or revert puts it in ERROR with a fault, nothing held for the migration.
 */
import type { Config } from '../common/config/load-config.ts';
import { adminContext, type RequestContext } from '../common/context.ts';
import type { Database } from '../common/db/database.ts';
import { InstanceInvalidState, NotFound, StratusError } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import { finishEvent, startEvent } from '../objects/instance-actions.ts';
import { recordFault } from '../objects/instance-faults.ts';
import { flavorSpec, instancePayload } from '../objects/instance-payload.ts';
import { changeInstance, findInstance, flavorChanges, type Instance } from '../objects/instances.ts';
import type { Flavor } from '../objects/flavors.ts';
import {
  findMigration,
  MigrationStatus,
  unconfirmedMigrations,
  updateMigration,
  type MigrationRecord,
} from '../objects/migrations.ts';
import { beginConfirmResize, moveOf } from '../objects/resize-records.ts';
import { getRequestSpec, saveRequestSpec } from '../objects/request-specs.ts';
import { claimResources, moveAllocations, releaseAllocations, resourcesForFlavor } from '../placement/claims.ts';
import { loadAntiAffinityGuard } from '../scheduler/request-hints.ts';
import type { Selection } from '../wire/messages/request-spec.ts';
import type { ComputeRpcApi, Move } from '../wire/contracts/compute.ts';
import type { MoveStepName } from '../wire/contracts/conductor.ts';
import type { DiskSource } from '../wire/messages/disk-source.ts';
import type { SchedulerRpcApi } from '../wire/contracts/scheduler.ts';
import { PowerState, RESIZE_TASKS, TaskState, VmState } from '../wire/messages/instance-states.ts';
import { allocateForHost } from './network-allocation.ts';
import { remoteGroupsFor } from '../network/network-info.ts';
import { moveDestinations } from './move-destinations.ts';

const log = getLogger('conductor.moves');

/** Nova's event name for the conductor's part of a resize or migrate. */
const MIGRATE_EVENT = 'conductor_migrate_server';

export interface MoveStepReport {
  migration_uuid: string;
  step: MoveStepName;
  host: string;
  power_state: number;
  error?: { message: string; traceback: string };
  /** `migrated`: where the destination fetches the guest's disks from, passed on to finish_resize. */
  disk_source?: DiskSource;
  alternates?: Selection[];
}

export class MoveConductor {
  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly scheduler: SchedulerRpcApi,
    private readonly compute: ComputeRpcApi,
  ) {}

  private get db() {
    return this.database.db;
  }

  async migrateServer(ctx: RequestContext, uuid: string, migrationUuid: string, requestedHost?: string): Promise<void> {
    const [instance, migration] = await Promise.all([
      findInstance(this.db, uuid),
      findMigration(this.db, migrationUuid),
    ]);
    if (!instance || !migration || migration.status !== MigrationStatus.PRE_MIGRATING) return;
    if (instance.task_state !== TaskState.RESIZE_PREP || !instance.host) return;
    await startEvent(this.db, uuid, ctx.requestId, MIGRATE_EVENT, null);
    // The source's share is the migration's from now on: the claim below is the instance's alone.
    await moveAllocations(this.db, uuid, migration.uuid);
    let move: Move;
    let alternates: Selection[];
    try {
      [move, alternates] = await this.pickDestination(ctx, instance, migration, requestedHost);
    } catch (err) {
      log.warn({ instance: uuid, err: (err as Error).message }, 'no destination for the move');
      await this.putBack(instance.uuid, migration);
      await this.fail(ctx, instance, migration, err as Error, { task_state: null }, MIGRATE_EVENT);
      return;
    }
    await finishEvent(this.db, uuid, ctx.requestId, MIGRATE_EVENT, 'Success');
    await this.castPrep(ctx, instance, migration, move, alternates);
  }

  private castPrep(
    ctx: RequestContext,
    instance: Instance,
    migration: MigrationRecord,
    move: Move,
    alternates: Selection[],
  ): Promise<void> {
    const payload = this.payload(instance, migration.new_flavor);
    return this.cast(ctx, instance, migration, () =>
      this.compute.prepResize(ctx, move.dest_compute, payload, move, alternates),
    );
  }

  /**
   * prep_resize failed on the destination: its claim there is released and the next alternate the
   * scheduler gave that can still be claimed becomes the destination (Nova's reschedule of a resize,
   * within `[scheduler] max_attempts`, which bounds the alternates). False when none is left.
   */
  private async reschedulePrep(
    ctx: RequestContext,
    instance: Instance,
    migration: MigrationRecord,
    report: MoveStepReport,
  ): Promise<boolean> {
    const alternates = report.alternates ?? [];
    if (!alternates.length || migration.status !== MigrationStatus.PRE_MIGRATING) return false;
    if (migration.dest_compute !== report.host) return false;
    await releaseAllocations(this.db, instance.uuid);
    const spec = await getRequestSpec(this.db, instance.uuid);
    const resources = resourcesForFlavor(flavorSpec(migration.new_flavor));
    const guard = await loadAntiAffinityGuard(this.db, spec);
    for (let i = 0; i < alternates.length; i++) {
      const alternate = alternates[i]!;
      try {
        await claimResources(this.db, instance.uuid, alternate.compute_node_uuid, resources, spec.storage_tier, guard);
      } catch (err) {
        log.info(
          { instance: instance.uuid, host: alternate.service_host, err: (err as Error).message },
          'alternate cannot be claimed',
        );
        continue;
      }
      const dest = {
        dest_compute: alternate.service_host,
        dest_node: alternate.nodename,
        dest_host: alternate.service_host,
      };
      if (!(await updateMigration(this.db, migration.uuid, dest, [MigrationStatus.PRE_MIGRATING]))) {
        await releaseAllocations(this.db, instance.uuid);
        return true;
      }
      log.info(
        { instance: instance.uuid, from: report.host, to: alternate.service_host, err: report.error?.message },
        'rescheduling the move',
      );
      await this.castPrep(ctx, instance, migration, moveOf({ ...migration, ...dest }), alternates.slice(i + 1));
      return true;
    }
    return false;
  }

  /** Scheduled and claimed for the new flavor; the migration records where it goes. */
  private async pickDestination(
    ctx: RequestContext,
    instance: Instance,
    migration: MigrationRecord,
    requestedHost?: string,
  ): Promise<[Move, Selection[]]> {
    const [chosen, ...alternates] = await moveDestinations(this.db, this.scheduler, ctx, instance, {
      ...(requestedHost ? { requestedHost } : {}),
      flavor: migration.new_flavor,
      mayStay: migration.migration_type === 'resize' && this.config.DEFAULT.allow_resize_to_same_host,
    });
    const dest = { dest_compute: chosen.service_host, dest_node: chosen.nodename, dest_host: chosen.service_host };
    await updateMigration(this.db, migration.uuid, dest, [MigrationStatus.PRE_MIGRATING]);
    return [moveOf({ ...migration, ...dest }), alternates];
  }

  /** A host finished (or failed) its step: recorded, then the next step cast (or the move put back). */
  async moveStep(ctx: RequestContext, report: MoveStepReport): Promise<void> {
    const migration = await findMigration(this.db, report.migration_uuid);
    if (!migration) return log.warn({ migration: report.migration_uuid }, 'step of an unknown migration');
    const instance = await findInstance(this.db, migration.instance_uuid);
    if (!instance) {
      // Deleted meanwhile: its delete released the instance's allocations; the migration's go too.
      await releaseAllocations(this.db, migration.uuid);
      await updateMigration(this.db, migration.uuid, { status: MigrationStatus.ERROR });
      return;
    }
    const move = moveOf(migration);
    if (report.error) return this.stepFailed(ctx, instance, migration, move, report);
    switch (report.step) {
      case 'prepared':
        return this.advance(ctx, instance, migration, MigrationStatus.PRE_MIGRATING, MigrationStatus.MIGRATING, [
          TaskState.RESIZE_PREP,
          TaskState.RESIZE_MIGRATING,
          () =>
            this.compute.moveStep(
              ctx,
              move.source_compute,
              'resize_instance',
              this.payload(instance, migration.new_flavor),
              move,
            ),
        ]);
      case 'migrated':
        return this.advance(ctx, instance, migration, MigrationStatus.MIGRATING, MigrationStatus.POST_MIGRATING, [
          TaskState.RESIZE_MIGRATING,
          TaskState.RESIZE_MIGRATED,
          async () => {
            // The ports follow the guest: bound to the destination before it plugs them.
            const { networkInfo } = await allocateForHost(
              this.db,
              instance,
              move.dest_compute,
              await remoteGroupsFor(this.compute),
            );
            const powerOn = instance.vm_state !== VmState.STOPPED;
            await this.compute.moveFinish(
              ctx,
              move.dest_compute,
              'finish_resize',
              this.payload(instance, migration.new_flavor),
              move,
              networkInfo,
              powerOn,
              report.disk_source,
            );
          },
        ]);
      case 'finished':
        return this.finished(instance, migration, move, report.power_state);
      case 'confirmed':
        return this.confirmed(instance, migration, report.power_state);
      case 'reverted_dest':
        return this.revertedOnDest(ctx, instance, migration, move);
      case 'reverted':
        return this.reverted(instance, migration, report.power_state);
    }
  }

  /** The migration and the task move one step on, then `next` is cast; a refused cast puts the move back. */
  private async advance(
    ctx: RequestContext,
    instance: Instance,
    migration: MigrationRecord,
    fromStatus: string,
    toStatus: string,
    [fromTask, toTask, next]: [string, string, () => Promise<void>],
  ): Promise<void> {
    if (!(await updateMigration(this.db, migration.uuid, { status: toStatus }, [fromStatus]))) return;
    try {
      await changeInstance(this.db, instance.uuid, { task_state: toTask }, { taskState: [fromTask] });
    } catch (err) {
      if (!(err instanceof InstanceInvalidState || err instanceof NotFound)) throw err;
      log.warn({ instance: instance.uuid, err: err.message }, 'server changed during its move; putting it back');
      await this.putBack(instance.uuid, migration);
      await updateMigration(this.db, migration.uuid, { status: MigrationStatus.ERROR });
      return;
    }
    await this.cast(ctx, { ...instance, task_state: toTask }, migration, next);
  }

  /** The guest runs on the destination with the new flavor: VERIFY_RESIZE, the server's host the destination. */
  private async finished(instance: Instance, migration: MigrationRecord, move: Move, power: number): Promise<void> {
    if (
      !(await updateMigration(this.db, migration.uuid, { status: MigrationStatus.FINISHED }, [
        MigrationStatus.POST_MIGRATING,
      ]))
    ) {
      return;
    }
    await changeInstance(
      this.db,
      instance.uuid,
      {
        vm_state: VmState.RESIZED,
        task_state: null,
        power_state: power,
        host: move.dest_compute,
        node: move.dest_node,
        ...flavorChanges(migration.new_flavor),
      },
      { taskState: [TaskState.RESIZE_MIGRATED, TaskState.RESIZE_FINISH] },
    ).catch((err: Error) => log.warn({ instance: instance.uuid, err: err.message }, 'could not record the finish'));
  }

  /** The move stands: the source's share freed, the server ACTIVE (or SHUTOFF) where it now is. */
  private async confirmed(instance: Instance, migration: MigrationRecord, _sourcePower: number): Promise<void> {
    if (
      !(await updateMigration(this.db, migration.uuid, { status: MigrationStatus.CONFIRMED }, [
        MigrationStatus.CONFIRMING,
      ]))
    ) {
      return;
    }
    await releaseAllocations(this.db, migration.uuid);
    // The request spec sizes later moves and unshelves: it now names the flavor the server has.
    const spec = await getRequestSpec(this.db, instance.uuid);
    await saveRequestSpec(this.db, instance.uuid, { ...spec, flavor: flavorSpec(migration.new_flavor) });
    const vmState = instance.power_state === PowerState.SHUTDOWN ? VmState.STOPPED : VmState.ACTIVE;
    await changeInstance(
      this.db,
      instance.uuid,
      { vm_state: vmState, task_state: null },
      { vmState: [VmState.RESIZED], taskState: [TaskState.RESIZE_CONFIRMING] },
    ).catch((err: Error) => log.warn({ instance: instance.uuid, err: err.message }, 'could not record the confirm'));
  }

  /**
   * The destination let go of the guest: the allocations and ports go back to the source, the server
   * back to its old flavor and host; then the source brings its guest back.
   */
  private async revertedOnDest(
    ctx: RequestContext,
    instance: Instance,
    migration: MigrationRecord,
    move: Move,
  ): Promise<void> {
    const reverting = migration.status === MigrationStatus.REVERTING || migration.status === MigrationStatus.ERROR;
    if (!reverting || instance.task_state !== TaskState.RESIZE_REVERTING) return;
    await this.putBack(instance.uuid, migration);
    const { networkInfo } = await allocateForHost(
      this.db,
      instance,
      move.source_compute,
      await remoteGroupsFor(this.compute),
    );
    const powerOn = instance.power_state !== PowerState.SHUTDOWN;
    await changeInstance(
      this.db,
      instance.uuid,
      {
        host: move.source_compute,
        node: move.source_node,
        ...flavorChanges(migration.old_flavor),
      },
      { taskState: [TaskState.RESIZE_REVERTING] },
    );
    const back = { ...instance, host: move.source_compute, node: move.source_node, flavor: migration.old_flavor };
    await this.cast(ctx, back, migration, () =>
      this.compute.moveFinish(
        ctx,
        move.source_compute,
        'finish_revert_resize',
        instancePayload(back),
        move,
        networkInfo,
        powerOn,
      ),
    );
  }

  /** The old guest runs again on the source: ACTIVE (or SHUTOFF), no task; the migration reverted. */
  private async reverted(instance: Instance, migration: MigrationRecord, power: number): Promise<void> {
    // A move that failed at its finish is reverted too, but stays in error.
    await updateMigration(this.db, migration.uuid, { status: MigrationStatus.REVERTED }, [MigrationStatus.REVERTING]);
    await changeInstance(
      this.db,
      instance.uuid,
      {
        vm_state: power === PowerState.RUNNING ? VmState.ACTIVE : VmState.STOPPED,
        task_state: null,
        power_state: power,
      },
      { taskState: [TaskState.RESIZE_REVERTING] },
    ).catch((err: Error) => log.warn({ instance: instance.uuid, err: err.message }, 'could not record the revert'));
  }

  /**
   * A host could not do its step (it undid its own part). Before the destination finished, everything
   * goes back to the source (a failed finish also has the source bring its guest back); a failed confirm
   * or revert leaves the server in ERROR. Always: the migration in error, a fault, nothing leaked.
   */
  private async stepFailed(
    ctx: RequestContext,
    instance: Instance,
    migration: MigrationRecord,
    move: Move,
    report: MoveStepReport,
  ): Promise<void> {
    if (report.step === 'prepared' && (await this.reschedulePrep(ctx, instance, migration, report))) return;
    const error = Object.assign(new Error(report.error!.message), { stack: report.error!.traceback });
    log.warn({ instance: instance.uuid, step: report.step, host: report.host, err: error.message }, 'move step failed');
    if (!(await updateMigration(this.db, migration.uuid, { status: MigrationStatus.ERROR }, IN_FLIGHT))) return;
    await this.recordFault(instance, error, report.host);
    switch (report.step) {
      case 'prepared':
      case 'migrated':
        await this.putBack(instance.uuid, migration);
        await changeInstance(this.db, instance.uuid, { task_state: null }, { taskState: RESIZE_TASKS }).catch(
          () => undefined,
        );
        return;
      case 'finished':
        // The source still has the guest, powered off: it is brought back as a revert would.
        await changeInstance(
          this.db,
          instance.uuid,
          { task_state: TaskState.RESIZE_REVERTING },
          { taskState: RESIZE_TASKS },
        ).catch(() => undefined);
        return this.revertedOnDest(
          ctx,
          { ...instance, task_state: TaskState.RESIZE_REVERTING },
          { ...migration, status: MigrationStatus.ERROR },
          move,
        );
      default:
        // Confirm or revert failed half way: the instance's own share stays where its host is.
        await releaseAllocations(this.db, migration.uuid);
        await changeInstance(
          this.db,
          instance.uuid,
          { vm_state: VmState.ERROR, task_state: null, power_state: report.power_state },
          { taskState: [TaskState.RESIZE_CONFIRMING, TaskState.RESIZE_REVERTING] },
        ).catch(() => undefined);
    }
  }

  /** Resizes finished on `host` more than `windowSeconds` ago are confirmed (Nova's _poll_unconfirmed_resizes). */
  async confirmDueResizes(host: string, windowSeconds: number): Promise<void> {
    const before = new Date(Date.now() - windowSeconds * 1000).toISOString();
    for (const migration of await unconfirmedMigrations(this.db, host, before)) {
      const ctx = adminContext();
      const instance = await findInstance(this.db, migration.instance_uuid);
      if (!instance || instance.vm_state !== VmState.RESIZED || instance.task_state !== null) continue;
      try {
        const claimed = await beginConfirmResize(this.db, ctx, instance, migration);
        await this.compute.moveStep(
          ctx,
          moveOf(migration).source_compute,
          'confirm_resize',
          instancePayload(claimed),
          moveOf(migration),
        );
        log.info({ instance: instance.uuid, migration: migration.uuid }, 'resize confirmed automatically');
      } catch (err) {
        log.warn(
          { instance: instance.uuid, err: (err as Error).message },
          'could not confirm the resize automatically',
        );
      }
    }
  }

  /** The allocations as before the move: the instance's claim on the destination freed, the source's back. */
  private async putBack(uuid: string, migration: MigrationRecord): Promise<void> {
    await moveAllocations(this.db, migration.uuid, uuid);
  }

  /** Casts `next`; if the host cannot be reached the move is put back and the server keeps its state. */
  private async cast(
    ctx: RequestContext,
    instance: Instance,
    migration: MigrationRecord,
    next: () => Promise<void>,
  ): Promise<void> {
    try {
      await next();
    } catch (err) {
      await this.putBack(instance.uuid, migration);
      await updateMigration(this.db, migration.uuid, { status: MigrationStatus.ERROR });
      await this.fail(ctx, instance, migration, err as Error, { task_state: null });
    }
  }

  private async fail(
    ctx: RequestContext,
    instance: Instance,
    migration: MigrationRecord,
    error: Error,
    changes: Parameters<typeof changeInstance>[2],
    event?: string,
  ): Promise<void> {
    await updateMigration(this.db, migration.uuid, { status: MigrationStatus.ERROR });
    await changeInstance(this.db, instance.uuid, changes).catch(() => undefined);
    await this.recordFault(instance, error, null);
    if (event) {
      await finishEvent(this.db, instance.uuid, ctx.requestId, event, 'Error', {
        message: error.message,
        traceback: error.stack ?? '',
      }).catch(() => undefined);
    }
  }

  private async recordFault(instance: Instance, error: Error, host: string | null): Promise<void> {
    await recordFault(this.db, instance.uuid, {
      code: error instanceof StratusError ? error.status : 500,
      message: error.message,
      details: error.stack ?? null,
      host,
    }).catch(() => undefined);
  }

  /** The instance as a step's host sees it: with the flavor the step works with. */
  private payload(instance: Instance, flavor: Flavor) {
    return instancePayload({ ...instance, flavor });
  }
}

/** The statuses of a move whose steps are still running. */
const IN_FLIGHT = [
  MigrationStatus.PRE_MIGRATING,
  MigrationStatus.MIGRATING,
  MigrationStatus.POST_MIGRATING,
  MigrationStatus.CONFIRMING,
  MigrationStatus.REVERTING,
];
