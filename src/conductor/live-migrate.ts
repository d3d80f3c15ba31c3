/**
 * The conductor's part of live migration (Nova's conductor live_migrate_instance and its LiveMigrationTask,
 * with the records Nova's compute manager keeps through the conductor here). The API set task migrating,
 * recorded the action `live-migration` and the migration (type live-migration, accepted):
 * - live_migrate_instance: the source's share goes under the migration's uuid (as a cold migration's does),
 *   the destination is scheduled and claimed for the instance (the admin's host as the requested
 *   destination; taken as it is, only claimed, when forced), the migration becomes queued with it, then
 *   both hosts are asked whether they can (check_can_live_migrate_destination and _source, calls). Any
 *   refusal puts everything back: the server ACTIVE (or PAUSED) on its source, no task, a fault, the
 *   migration in error.
 * - then the steps, each reported through live_migration_step: the migration preparing while the
 *   destination readies the guest (pre_live_migration), running while the source streams it
 *   (live_migration, progress reported meanwhile), post-migrating once it is there: the ports bound to the
 *   destination, the server's host and node the destination's, the destination resumes the guest
 *   (post_live_migration_at_destination) and the task is cleared; then the source removes what is left
 *   (post_live_migration), its share is freed and the migration completed.
 * - a failed (or aborted: cancelled) prepare or stream leaves the guest running at the source: the
 *   destination rolls back, its claim is freed, the source's share is the instance's again; a migration
 *   aborted while queued or preparing (2.65, the API sets it cancelled) is put back the same way at the
 *   next step. A destination that cannot resume the guest leaves the server in ERROR there.
 */
import { adminContext, type RequestContext } from '../common/context.ts';
import type { Database } from '../common/db/database.ts';
import { MigrationError, NoValidHost } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import { failureOf, finishEvent, startEvent } from '../objects/instance-actions.ts';
import { recordErrorFault } from '../objects/instance-faults.ts';
import { flavorSpec, instancePayload } from '../objects/instance-payload.ts';
import { changeInstance, findInstance, type Instance } from '../objects/instances.ts';
import {
  findMigration,
  listMigrations,
  MigrationStatus,
  recordMigrationProgress,
  updateMigration,
  type MigrationRecord,
} from '../objects/migrations.ts';
import { getRequestSpec } from '../objects/request-specs.ts';
import { claimResources, moveAllocations, releaseAllocations, resourcesForFlavor } from '../placement/claims.ts';
import type { ComputeRpcApi, LiveMove } from '../wire/contracts/compute.ts';
import type { LiveMigrateRequest, LiveStepReport } from '../wire/contracts/conductor.ts';
import { PowerState, TaskState, VmState } from '../wire/messages/instance-states.ts';
import type { LiveMigrationProgress } from '../wire/messages/live-migrate-data.ts';
import type { SchedulerRpcApi } from '../wire/contracts/scheduler.ts';
import { allocateForHost, currentNetworkInfo } from './network-allocation.ts';
import { remoteGroupsFor } from '../network/network-info.ts';
import { moveDestinations } from './move-destinations.ts';

const log = getLogger('conductor.live_migration');

/** Nova's event name for the conductor's part of a live migration. */
const EVENT = 'conductor_live_migrate_instance';

/** The statuses of a live migration whose steps are still running. */
const LIVE_IN_FLIGHT = [
  MigrationStatus.ACCEPTED,
  MigrationStatus.QUEUED,
  MigrationStatus.PREPARING,
  MigrationStatus.RUNNING,
];

/** The statuses of a live migration whose hosts may hold a copy of the guest beside the server's. */
const LIVE_UNFINISHED = [...LIVE_IN_FLIGHT, MigrationStatus.POST_MIGRATING];

/** The host side of a live migration, as its migration record says (after scheduling). */
export function liveMoveOf(m: MigrationRecord, blockMigration: boolean | null = null): LiveMove {
  return {
    migration_uuid: m.uuid,
    source_compute: m.source_compute!,
    source_node: m.source_node ?? m.source_compute!,
    dest_compute: m.dest_compute!,
    dest_node: m.dest_node ?? m.dest_compute!,
    block_migration: blockMigration,
  };
}

export class LiveMigrationConductor {
  constructor(
    private readonly database: Database,
    private readonly scheduler: SchedulerRpcApi,
    private readonly compute: ComputeRpcApi,
    /** `[DEFAULT] migrate_max_retries`: other destinations tried after a refusal (-1: any number). */
    private readonly maxRetries = -1,
  ) {}

  private get db() {
    return this.database.db;
  }

  async liveMigrate(ctx: RequestContext, args: LiveMigrateRequest): Promise<void> {
    const [instance, accepted] = await Promise.all([
      findInstance(this.db, args.uuid),
      findMigration(this.db, args.migration_uuid),
    ]);
    if (!instance || !accepted || accepted.status !== MigrationStatus.ACCEPTED) return;
    if (instance.task_state !== TaskState.MIGRATING || instance.host !== accepted.source_compute) return;
    await startEvent(this.db, instance.uuid, ctx.requestId, EVENT, null);
    // The source's share is the migration's from now on: the destination's claim is the instance's.
    await moveAllocations(this.db, instance.uuid, accepted.uuid);
    let move: LiveMove;
    try {
      move = await this.findDestination(ctx, instance, accepted, args);
    } catch (err) {
      log.warn({ instance: instance.uuid, err: (err as Error).message }, 'the live migration cannot start');
      const now = await findMigration(this.db, accepted.uuid);
      if (now?.status === MigrationStatus.CANCELLED) {
        await this.putBack(instance, accepted, null, null, MigrationStatus.CANCELLED);
      } else {
        await this.putBack(instance, accepted, err as Error, null);
      }
      await finishEvent(this.db, instance.uuid, ctx.requestId, EVENT, 'Error', failureOf(err as Error));
      return;
    }
    await finishEvent(this.db, instance.uuid, ctx.requestId, EVENT, 'Success');
    if (
      !(await updateMigration(this.db, accepted.uuid, { status: MigrationStatus.PREPARING }, [MigrationStatus.QUEUED]))
    ) {
      return this.cancelled(instance, accepted, move, false);
    }
    await this.cast(instance, accepted, move, false, async () =>
      this.compute.liveStepWithNics(
        ctx,
        move.dest_compute,
        'pre_live_migration',
        instancePayload(instance),
        move,
        await currentNetworkInfo(this.db, instance.uuid, await remoteGroupsFor(this.compute)),
      ),
    );
  }

  /**
   * The destination, claimed and agreed to by both hosts (Nova's _find_destination): a scheduled one
   * that either host refuses is given up (its claim freed) for the next the scheduler picks, the hosts
   * tried so far left out, until `[DEFAULT] migrate_max_retries` retries (-1: until no host is left).
   * A forced destination is tried once.
   */
  private async findDestination(
    ctx: RequestContext,
    instance: Instance,
    accepted: MigrationRecord,
    args: LiveMigrateRequest,
  ): Promise<LiveMove> {
    const forced = args.force === true && !!args.host;
    const tried: [string, string][] = [];
    for (;;) {
      const dest = forced
        ? await this.claimForced(instance, args.host!)
        : await this.schedule(ctx, instance, args.host, tried);
      const queued = {
        status: MigrationStatus.QUEUED,
        dest_compute: dest.host,
        dest_node: dest.node,
        dest_host: dest.host,
      };
      const from = [MigrationStatus.ACCEPTED, MigrationStatus.QUEUED];
      if (!(await updateMigration(this.db, accepted.uuid, queued, from))) {
        throw new MigrationError(`Live migration ${accepted.uuid} was cancelled.`);
      }
      const move = liveMoveOf({ ...accepted, ...queued }, args.block_migration);
      const payload = instancePayload(instance);
      try {
        await this.compute.liveStep(ctx, move.dest_compute, 'check_can_live_migrate_destination', payload, move);
        await this.compute.liveStep(ctx, move.source_compute, 'check_can_live_migrate_source', payload, move);
        return move;
      } catch (err) {
        if (forced) throw err;
        log.info({ instance: instance.uuid, host: dest.host, err: (err as Error).message }, 'destination refused');
        tried.push([dest.host, dest.node]);
        // The refused destination's claim goes; the source's share stays the migration's.
        await releaseAllocations(this.db, instance.uuid);
        // Nova counts the source among the hosts tried: the first refusal is already one retry.
        if (this.maxRetries >= 0 && tried.length > this.maxRetries) {
          throw new NoValidHost(
            'Exceeded maximum number of retries. Exceeded max scheduling retries ' +
              `${this.maxRetries} for instance ${instance.uuid} during live migration`,
          );
        }
      }
    }
  }

  /** The admin's host taken as it is (force): only claimed there, as Nova claims a forced destination. */
  private async claimForced(instance: Instance, host: string): Promise<{ host: string; node: string }> {
    const node = await this.db
      .selectFrom('compute_nodes')
      .select(['uuid', 'hypervisor_hostname'])
      .where('host', '=', host)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!node) throw new MigrationError(`Compute host ${host} could not be found.`);
    if (host === instance.host) {
      throw new MigrationError(`Unable to migrate instance (${instance.uuid}) to current host (${host}).`);
    }
    const spec = await getRequestSpec(this.db, instance.uuid);
    await claimResources(
      this.db,
      instance.uuid,
      node.uuid,
      resourcesForFlavor(flavorSpec(instance.flavor)),
      spec.storage_tier,
    );
    return { host, node: node.hypervisor_hostname };
  }

  /** Scheduled and claimed: any host but the source, or the admin's (as the requested destination). */
  private async schedule(
    ctx: RequestContext,
    instance: Instance,
    requestedHost: string | undefined,
    tried: [string, string][],
  ): Promise<{ host: string; node: string }> {
    const [chosen] = await moveDestinations(this.db, this.scheduler, ctx, instance, {
      ...(requestedHost ? { requestedHost } : {}),
      alsoIgnore: tried,
    });
    return { host: chosen.service_host, node: chosen.nodename };
  }

  /** A host finished (or failed) its step: recorded, then the next cast (or the migration put back). */
  async step(ctx: RequestContext, report: LiveStepReport): Promise<void> {
    const migration = await findMigration(this.db, report.migration_uuid);
    if (!migration || migration.migration_type !== 'live-migration') {
      return log.warn({ migration: report.migration_uuid }, 'step of an unknown live migration');
    }
    const instance = await findInstance(this.db, migration.instance_uuid);
    if (!instance) {
      // Deleted meanwhile. A destination that finished preparing after the delete's clean-up (or whose
      // clean-up came first) holds a guest again: it goes too.
      const cleaned = await this.abandon(migration);
      if (!cleaned && report.step === 'prepared' && !report.error && migration.dest_compute) {
        const deleted = await findInstance(this.db, migration.instance_uuid, true);
        if (deleted) await this.rollbackDest(deleted, liveMoveOf(migration));
      }
      return;
    }
    const move = liveMoveOf(migration);
    const error = report.error && Object.assign(new Error(report.error.message), { stack: report.error.traceback });
    switch (report.step) {
      case 'prepared':
        if (error) return this.failed(instance, migration, move, error, report.host, false);
        if (!report.migrate_data) {
          return this.failed(instance, migration, move, new MigrationError('no migrate data'), report.host, true);
        }
        if (
          !(await updateMigration(this.db, migration.uuid, { status: MigrationStatus.RUNNING }, [
            MigrationStatus.PREPARING,
          ]))
        ) {
          return migration.status === MigrationStatus.CANCELLED
            ? this.cancelled(instance, migration, move, true)
            : undefined;
        }
        return this.cast(instance, migration, move, true, () =>
          this.compute.liveMigration(ctx, move.source_compute, instancePayload(instance), move, report.migrate_data!),
        );
      case 'migrated':
        if (error) {
          const status = report.cancelled ? MigrationStatus.CANCELLED : MigrationStatus.ERROR;
          return this.failed(instance, migration, move, error, report.host, true, status);
        }
        return this.migrated(ctx, instance, migration, move);
      case 'finished':
        return this.finished(ctx, instance, migration, move, report.power_state, error);
      case 'cleaned':
        return this.cleaned(instance, migration, error);
    }
  }

  /** The guest is at the destination: the server's host and ports follow it, then the destination resumes it. */
  private async migrated(ctx: RequestContext, instance: Instance, migration: MigrationRecord, move: LiveMove) {
    if (
      !(await updateMigration(this.db, migration.uuid, { status: MigrationStatus.POST_MIGRATING }, [
        MigrationStatus.RUNNING,
      ]))
    ) {
      return;
    }
    const moved = { ...instance, host: move.dest_compute, node: move.dest_node };
    let networkInfo;
    try {
      ({ networkInfo } = await allocateForHost(this.db, moved, move.dest_compute, await remoteGroupsFor(this.compute)));
      await changeInstance(
        this.db,
        instance.uuid,
        { host: move.dest_compute, node: move.dest_node },
        { taskState: [TaskState.MIGRATING] },
      );
      await this.compute.liveStepWithNics(
        ctx,
        move.dest_compute,
        'post_live_migration_at_destination',
        instancePayload(moved),
        move,
        networkInfo,
      );
    } catch (err) {
      await this.finished(ctx, moved, migration, move, PowerState.NOSTATE, err as Error);
    }
  }

  /**
   * The destination resumed the guest: the server runs there, its task cleared; the source removes what
   * is left. A destination that could not resume it leaves the server in ERROR there (the source's copy is
   * stopped for good, as QEMU leaves it once the state has gone).
   */
  private async finished(
    ctx: RequestContext,
    instance: Instance,
    migration: MigrationRecord,
    move: LiveMove,
    power: number,
    error?: Error,
  ): Promise<void> {
    if (error) {
      if (
        !(await updateMigration(this.db, migration.uuid, { status: MigrationStatus.ERROR }, [
          MigrationStatus.POST_MIGRATING,
        ]))
      ) {
        return;
      }
      log.error(
        { instance: instance.uuid, host: move.dest_compute, err: error.message },
        'the migrated guest did not resume',
      );
      await releaseAllocations(this.db, migration.uuid);
      await changeInstance(
        this.db,
        instance.uuid,
        { vm_state: VmState.ERROR, task_state: null, power_state: power },
        { taskState: [TaskState.MIGRATING] },
      ).catch(() => undefined);
      await recordErrorFault(this.db, instance.uuid, error, move.dest_compute);
      await this.compute
        .liveStep(ctx, move.source_compute, 'post_live_migration', instancePayload(instance), move)
        .catch((err: Error) => log.warn({ instance: instance.uuid, err: err.message }, 'source not cleaned up'));
      return;
    }
    if (migration.status !== MigrationStatus.POST_MIGRATING) return;
    const vmState = power === PowerState.PAUSED ? VmState.PAUSED : VmState.ACTIVE;
    await changeInstance(
      this.db,
      instance.uuid,
      { vm_state: vmState, task_state: null, power_state: power },
      { taskState: [TaskState.MIGRATING] },
    ).catch((err: Error) => log.warn({ instance: instance.uuid, err: err.message }, 'could not record the migration'));
    log.info({ instance: instance.uuid, from: move.source_compute, to: move.dest_compute }, 'server live-migrated');
    try {
      await this.compute.liveStep(ctx, move.source_compute, 'post_live_migration', instancePayload(instance), move);
    } catch (err) {
      await this.cleaned(instance, migration, err as Error);
    }
  }

  /** The source removed what was left: its share freed, the migration completed (in error if it could not). */
  private async cleaned(instance: Instance, migration: MigrationRecord, error?: Error): Promise<void> {
    const status = error ? MigrationStatus.ERROR : MigrationStatus.COMPLETED;
    if (!(await updateMigration(this.db, migration.uuid, { status }, [MigrationStatus.POST_MIGRATING]))) return;
    // The guest runs on the destination either way: the source's share is not the server's any longer.
    await releaseAllocations(this.db, migration.uuid);
    if (error) {
      log.error(
        { instance: instance.uuid, host: migration.source_compute, err: error.message },
        'the source could not remove what the live migration left there',
      );
    }
  }

  /**
   * The server was deleted (its host reports the guest destroyed): a live migration of it still under
   * way ends now rather than at the destination's next clean-up. The deleting host (the source, or the
   * destination once the server is recorded there) cancelled any stream of it before destroying its
   * guest; the other host removes its copy here.
   */
  async instanceDeleted(uuid: string): Promise<void> {
    const unfinished = await listMigrations(this.db, {
      instanceUuid: uuid,
      migrationType: 'live-migration',
      statuses: LIVE_UNFINISHED,
    });
    for (const migration of unfinished) await this.abandon(migration);
  }

  /**
   * A live migration of a deleted server: cancelled, what it holds freed (the source's share, under the
   * migration's uuid, and the destination's claim, the instance's, which a scheduling racing the delete
   * may have made after the delete freed it), and both hosts told to remove their copy of the guest (the
   * destination rolls back; past the switch-over the source removes what is left, as after a migration).
   * Returns whether this call did it (a later report of the same migration finds it done).
   */
  private async abandon(migration: MigrationRecord): Promise<boolean> {
    const won = await updateMigration(this.db, migration.uuid, { status: MigrationStatus.CANCELLED }, LIVE_UNFINISHED);
    await releaseAllocations(this.db, migration.uuid);
    await releaseAllocations(this.db, migration.instance_uuid);
    if (!won) return false;
    const instance = await findInstance(this.db, migration.instance_uuid, true);
    log.info(
      { instance: migration.instance_uuid, migration: migration.uuid, status: migration.status },
      'server deleted during its live migration: the migration is cancelled and both hosts clean up',
    );
    if (!instance || !migration.dest_compute) return true;
    const move = liveMoveOf(migration);
    await this.rollbackDest(instance, move);
    if (migration.status === MigrationStatus.POST_MIGRATING) {
      await this.compute
        .liveStep(adminContext(), move.source_compute, 'post_live_migration', instancePayload(instance), move)
        .catch((err: Error) => log.warn({ instance: instance.uuid, err: err.message }, 'source not cleaned up'));
    }
    return true;
  }

  /** The source's progress figures of a running migration. */
  async progress(migrationUuid: string, progress: LiveMigrationProgress): Promise<void> {
    await recordMigrationProgress(this.db, migrationUuid, progress);
  }

  /**
   * A step before the switch-over failed (or was aborted): the guest runs on at the source. The
   * destination rolls back what it prepared (`rollbackDest`), its claim is freed, the source's share is the
   * instance's again, the task cleared, a fault recorded; the migration in `status`.
   */
  private async failed(
    instance: Instance,
    migration: MigrationRecord,
    move: LiveMove,
    error: Error,
    host: string | null,
    rollbackDest: boolean,
    status: string = MigrationStatus.ERROR,
  ): Promise<void> {
    if (!(await updateMigration(this.db, migration.uuid, { status }, LIVE_IN_FLIGHT))) {
      // Cancelled while queued or preparing: put back as a cancellation.
      const now = await findMigration(this.db, migration.uuid);
      if (now?.status === MigrationStatus.CANCELLED) await this.cancelled(instance, migration, move, rollbackDest);
      return;
    }
    log.warn({ instance: instance.uuid, host, status, err: error.message }, 'live migration put back');
    if (rollbackDest) await this.rollbackDest(instance, move);
    await this.putBack(instance, migration, status === MigrationStatus.CANCELLED ? null : error, host, status);
  }

  /** An admin cancelled the migration while queued or preparing (2.65): everything back, no fault. */
  private async cancelled(instance: Instance, migration: MigrationRecord, move: LiveMove, rollbackDest: boolean) {
    log.info({ instance: instance.uuid, migration: migration.uuid }, 'live migration cancelled before it ran');
    if (rollbackDest) await this.rollbackDest(instance, move);
    await this.putBack(instance, migration, null, null, MigrationStatus.CANCELLED);
  }

  private async rollbackDest(instance: Instance, move: LiveMove): Promise<void> {
    const ctx = adminContext();
    await this.compute
      .liveStep(ctx, move.dest_compute, 'rollback_live_migration_at_destination', instancePayload(instance), move)
      .catch((err: Error) =>
        log.error({ instance: instance.uuid, host: move.dest_compute, err: err.message }, 'could not roll back'),
      );
  }

  /**
   * Everything as before the migration: the destination's claim freed and the source's share the
   * instance's again, the server on its source with no task (a fault for `error`), the migration in
   * `status` (already set by the caller when it guarded on it).
   */
  private async putBack(
    instance: Instance,
    migration: MigrationRecord,
    error: Error | null,
    host: string | null,
    status: string = MigrationStatus.ERROR,
  ): Promise<void> {
    // A server deleted meanwhile has nothing to go back to: abandon() frees what the migration holds.
    if (!(await findInstance(this.db, instance.uuid))) {
      await this.abandon(migration);
      return;
    }
    await moveAllocations(this.db, migration.uuid, instance.uuid);
    await updateMigration(this.db, migration.uuid, { status });
    await changeInstance(this.db, instance.uuid, { task_state: null }, { taskState: [TaskState.MIGRATING] }).catch(
      () => undefined,
    );
    if (error) await recordErrorFault(this.db, instance.uuid, error, host);
  }

  /** Casts `next`; a host that cannot be reached fails the migration as a failed step would. */
  private async cast(
    instance: Instance,
    migration: MigrationRecord,
    move: LiveMove,
    rollbackDest: boolean,
    next: () => Promise<void>,
  ): Promise<void> {
    try {
      await next();
    } catch (err) {
      await this.failed(instance, migration, move, err as Error, null, rollbackDest);
    }
  }
}
