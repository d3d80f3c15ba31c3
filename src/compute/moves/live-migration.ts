/**
 * The compute hosts' steps of a live migration (Nova's compute manager check_can_live_migrate_destination
 * and _source, pre_live_migration, live_migration, post_live_migration_at_destination, _post_live_migration,
 * rollback_live_migration_at_destination, live_migration_abort and live_migration_force_complete). The
 * conductor runs the flow (conductor/live-migrate.ts): it calls the two checks, casts each step to the host
 * whose turn it is and, once the host reports it through `live_migration_step`, records it and casts the
 * next:
 *
 *   pre_live_migration (dest) -> live_migration (source) -> post_live_migration_at_destination (dest)
 *   -> post_live_migration (source: what is left there goes)
 *
 * A host only does its part and reports, undoing what it did itself when it fails; a failed or aborted
 * live_migration leaves the guest running at the source and the conductor has the destination roll back.
 */
import type { RequestContext } from '../../common/context.ts';
import { MigrationError } from '../../common/errors.ts';
import { getLogger } from '../../common/log/logger.ts';
import type { LiveMove } from '../../wire/contracts/compute.ts';
import type { LiveStepReportName } from '../../wire/contracts/conductor.ts';
import type { InstancePayload } from '../../wire/messages/instance-payload.ts';
import type { LiveMigrateData } from '../../wire/messages/live-migrate-data.ts';
import { VmState } from '../../wire/messages/instance-states.ts';
import type { NetworkInfo } from '../../wire/messages/network-info.ts';
import type { HostActionSteps } from '../host-action-steps.ts';
import type { GuestLiveMoves } from '../virt/driver.ts';

const log = getLogger('compute.live_migration');

/** How often the source reports a running migration's progress (Nova's libvirt driver: every 5 s or so). */
const PROGRESS_INTERVAL_MS = 1000;

export class LiveMigrationFlows {
  /** The guests whose migration from here an admin aborted while it ran (by instance uuid). */
  private readonly aborted = new Set<string>();
  /** The guests being streamed from here now (by instance uuid). */
  private readonly streaming = new Set<string>();

  constructor(
    private readonly h: HostActionSteps,
    private readonly progressIntervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  /** Destination (a call): can this host take the guest? A refusal is the call's error. */
  async checkDestination(ctx: RequestContext, instance: InstancePayload, move: LiveMove): Promise<void> {
    await this.checked(ctx, instance, 'compute_check_can_live_migrate_destination', () =>
      this.driver().checkCanLiveMigrateDestination(instance, move.dest_node),
    );
  }

  /** Source (a call): can the guest leave live? */
  async checkSource(ctx: RequestContext, instance: InstancePayload): Promise<void> {
    await this.checked(ctx, instance, 'compute_check_can_live_migrate_source', () =>
      this.driver().checkCanLiveMigrateSource(instance.uuid),
    );
  }

  private async checked(
    ctx: RequestContext,
    instance: InstancePayload,
    event: string,
    check: () => Promise<void>,
  ): Promise<void> {
    await this.h.event(ctx, instance.uuid, event, 'start');
    try {
      await check();
    } catch (err) {
      await this.h.event(ctx, instance.uuid, event, 'finish', err as Error);
      throw err;
    }
    await this.h.event(ctx, instance.uuid, event, 'finish');
  }

  /** Destination: the guest's NICs plugged and the guest ready to receive its state; reports where to send it. */
  async preLiveMigration(
    ctx: RequestContext,
    instance: InstancePayload,
    move: LiveMove,
    networkInfo: NetworkInfo,
  ): Promise<void> {
    // Member changes that arrive from here on postdate the request's rules: the plug applies them.
    const membersSince = this.h.networking.memberMark();
    let migrateData: LiveMigrateData | undefined;
    await this.step(
      ctx,
      instance,
      move,
      'compute_pre_live_migration',
      'prepared',
      async () => {
        // Plugged first: the destination's guest opens its taps by name when it starts.
        await this.h.networking.plugGuest(instance, networkInfo, membersSince);
        migrateData = await this.driver().preLiveMigration(instance, move.dest_node, networkInfo);
      },
      () => this.removeGuest(instance.uuid),
      () => (migrateData ? { migrate_data: migrateData } : {}),
    );
  }

  /** Source: the guest streamed to the destination, its progress reported as it goes. */
  async liveMigration(
    ctx: RequestContext,
    instance: InstancePayload,
    move: LiveMove,
    migrateData: LiveMigrateData,
  ): Promise<void> {
    const uuid = instance.uuid;
    this.aborted.delete(uuid);
    this.streaming.add(uuid);
    const timer = setInterval(() => void this.reportProgress(ctx, uuid, move), this.progressIntervalMs);
    try {
      await this.step(
        ctx,
        instance,
        move,
        'compute_live_migration',
        'migrated',
        () => this.driver().liveMigration(uuid, migrateData),
        undefined,
        () => ({}),
        () => (this.aborted.has(uuid) ? { cancelled: true } : {}),
      );
    } finally {
      clearInterval(timer);
      this.aborted.delete(uuid);
      this.streaming.delete(uuid);
    }
  }

  /**
   * The server is being deleted here: a migration streaming it away is cancelled first, so that the
   * guest stops going to the destination at once (its step then reports the stream cancelled and the
   * conductor has the destination remove what it prepared). No instance action event: the delete is
   * the user's action, not an abort.
   */
  async cancelForDelete(uuid: string): Promise<void> {
    if (!this.streaming.has(uuid)) return;
    this.aborted.add(uuid);
    await this.driver()
      .abort(uuid)
      .catch((err: Error) => log.info({ instance: uuid, err: err.message }, 'no migration to cancel for the delete'));
  }

  private async reportProgress(ctx: RequestContext, uuid: string, move: LiveMove): Promise<void> {
    try {
      const progress = await this.driver().progress(uuid);
      if (progress) await this.h.conductor.liveMigrationProgress(ctx, move.migration_uuid, progress);
    } catch (err) {
      log.debug({ instance: uuid, err: (err as Error).message }, 'could not report the migration progress');
    }
  }

  /**
   * Destination: the migrated guest resumes here. Its interfaces were plugged by pre_live_migration; the
   * ports, now bound here, carry the same VIFs (`networkInfo` is what the conductor bound).
   */
  async postLiveMigrationAtDestination(
    ctx: RequestContext,
    instance: InstancePayload,
    move: LiveMove,
    networkInfo: NetworkInfo,
  ): Promise<void> {
    await this.step(ctx, instance, move, 'compute_post_live_migration_at_destination', 'finished', async () => {
      const plugged = new Set((await this.h.networking.interfacesOf(instance.uuid)).map((vif) => vif.id));
      // A port attached meanwhile is refused (the API forbids it while migrating): plug it anyway.
      if (networkInfo.some((vif) => !plugged.has(vif.id))) await this.h.networking.plugGuest(instance, networkInfo);
      await this.driver().postLiveMigrationAtDestination(instance.uuid, instance.vm_state !== VmState.PAUSED);
    });
  }

  /** Source: the guest left here (stopped since the migration completed) and its interfaces go. */
  async postLiveMigration(ctx: RequestContext, instance: InstancePayload, move: LiveMove): Promise<void> {
    await this.step(ctx, instance, move, 'compute_post_live_migration', 'cleaned', () =>
      this.removeGuest(instance.uuid),
    );
  }

  /** Destination: what pre_live_migration set up goes; the guest runs on at the source. */
  async rollbackAtDestination(ctx: RequestContext, instance: InstancePayload, move: LiveMove): Promise<void> {
    const event = 'compute_rollback_live_migration_at_destination';
    await this.h.event(ctx, instance.uuid, event, 'start');
    let failure: Error | undefined;
    try {
      await this.removeGuest(instance.uuid);
    } catch (err) {
      failure = err as Error;
      log.error({ instance: instance.uuid, migration: move.migration_uuid, err: failure.message }, 'rollback failed');
    }
    await this.h.event(ctx, instance.uuid, event, 'finish', failure);
  }

  /** Source: the running migration is cancelled; live_migration then reports it cancelled. */
  async abort(ctx: RequestContext, instance: InstancePayload, migrationUuid: string): Promise<void> {
    await this.control(ctx, instance, migrationUuid, 'compute_live_migration_abort', async () => {
      this.aborted.add(instance.uuid);
      await this.driver().abort(instance.uuid);
    });
  }

  /** Source: the running migration is made to converge. */
  async forceComplete(ctx: RequestContext, instance: InstancePayload, migrationUuid: string): Promise<void> {
    await this.control(ctx, instance, migrationUuid, 'compute_live_migration_force_complete', () =>
      this.driver().forceComplete(instance.uuid),
    );
  }

  private async control(
    ctx: RequestContext,
    instance: InstancePayload,
    migrationUuid: string,
    event: string,
    work: () => Promise<void>,
  ): Promise<void> {
    await this.h.event(ctx, instance.uuid, event, 'start');
    let failure: Error | undefined;
    try {
      await work();
    } catch (err) {
      failure = err as Error;
      this.aborted.delete(instance.uuid);
      log.warn({ instance: instance.uuid, migration: migrationUuid, event, err: failure.message }, 'not done');
    }
    await this.h.event(ctx, instance.uuid, event, 'finish', failure);
  }

  private async removeGuest(uuid: string): Promise<void> {
    await this.h.driver.destroy(uuid);
    await this.h.networking.unplugGuest(uuid, true);
  }

  /**
   * One step: its action event, the work, then the report to the conductor (with what `result` adds on
   * success, or the error and what `onFailure` adds). `undo` cleans up what the failed work left here.
   */
  private async step(
    ctx: RequestContext,
    instance: InstancePayload,
    move: LiveMove,
    event: string,
    report: LiveStepReportName,
    work: () => Promise<void>,
    undo?: () => Promise<void>,
    result: () => { migrate_data?: LiveMigrateData } = () => ({}),
    onFailure: () => { cancelled?: boolean } = () => ({}),
  ): Promise<void> {
    const uuid = instance.uuid;
    await this.h.event(ctx, uuid, event, 'start');
    let failure: Error | undefined;
    try {
      await work();
    } catch (err) {
      failure = err as Error;
      log.warn({ instance: uuid, migration: move.migration_uuid, event, err: failure.message }, 'live step failed');
      await undo?.().catch((e: Error) =>
        log.error({ instance: uuid, event, err: e.message }, 'could not clean up after the failed live step'),
      );
    }
    await this.h.event(ctx, uuid, event, 'finish', failure);
    await this.h.conductor.liveMigrationStep(ctx, {
      migration_uuid: move.migration_uuid,
      step: report,
      host: this.h.host,
      power_state: this.h.driver.powerState(uuid),
      ...(failure ? { error: { message: failure.message, traceback: failure.stack ?? '' }, ...onFailure() } : result()),
    });
    if (!failure) log.info({ instance: uuid, migration: move.migration_uuid, step: report }, 'live step done');
  }

  private driver(): GuestLiveMoves {
    const live = this.h.driver.liveMoves;
    if (!live) throw new MigrationError(`The hypervisor of host ${this.h.host} cannot live-migrate servers.`);
    return live;
  }
}
