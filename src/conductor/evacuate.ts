/**
 * The conductor's part of evacuate (Nova's conductor rebuild_instance with recreate, and the records its
 * compute manager keeps through the conductor here). The server's host is down; the API set task
 * rebuilding and recorded the migration (type evacuation, accepted):
 * - evacuate_server: the source's share goes under the migration's uuid (as a cold migration's does),
 *   the scheduler picks and claims a destination other than the source (an admin's host as the requested
 *   destination), the migration becomes pre-migrating with it, the server's host and ports move there,
 *   then rebuild_instance with `recreate` is cast to it. No valid host: everything back, a fault, the
 *   server as it was with no task, the migration in error.
 * - evacuation_rebuilt: the guest runs there: ACTIVE (or SHUTOFF), the migration done. A failed rebuild
 *   puts the server back on its source (host, ports, allocations) in ERROR with a fault, the migration
 *   failed: the source's guest, if it comes back, is the server's again.
 * - evacuations_from_host / evacuation_cleaned: the source, when its compute starts again, removes the
 *   guests evacuated away (Nova's _destroy_evacuated_instances, for the evacuations done); their share
 *   there is freed and the migrations completed. Until then the source's share stays held: the host's disks still hold them.
 */
import { configDriveMetadata } from '../api/metadata/config-drive-metadata.ts';
import type { Config } from '../common/config/load-config.ts';
import type { RequestContext } from '../common/context.ts';
import type { Database } from '../common/db/database.ts';
import { getLogger } from '../common/log/logger.ts';
import { failureOf, finishEvent, startEvent } from '../objects/instance-actions.ts';
import { recordErrorFault } from '../objects/instance-faults.ts';
import { instancePayload } from '../objects/instance-payload.ts';
import { changeInstance, findInstance, type Instance } from '../objects/instances.ts';
import { findMigration, listMigrations, MigrationStatus, updateMigration } from '../objects/migrations.ts';
import { moveAllocations, releaseAllocations } from '../placement/claims.ts';
import type { ComputeRpcApi } from '../wire/contracts/compute.ts';
import type { SchedulerRpcApi } from '../wire/contracts/scheduler.ts';
import { PowerState, REBUILD_TASKS, TaskState, VmState } from '../wire/messages/instance-states.ts';
import { allocateForHost } from './network-allocation.ts';
import { remoteGroupsFor } from '../network/network-info.ts';
import { moveDestinations } from './move-destinations.ts';

const log = getLogger('conductor.evacuate');

/** Nova's event name for the conductor's part of a rebuild or evacuate. */
const EVENT = 'conductor_rebuild_server';

export interface EvacuationReport {
  migration_uuid: string;
  host: string;
  power_state: number;
  error?: { message: string; traceback: string };
}

export class EvacuateConductor {
  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly scheduler: SchedulerRpcApi,
    private readonly compute: ComputeRpcApi,
  ) {}

  private get db() {
    return this.database.db;
  }

  async evacuateServer(
    ctx: RequestContext,
    args: { uuid: string; migration_uuid: string; host?: string; stopped?: boolean },
  ): Promise<void> {
    const [instance, migration] = await Promise.all([
      findInstance(this.db, args.uuid),
      findMigration(this.db, args.migration_uuid),
    ]);
    if (!instance || !migration || migration.status !== MigrationStatus.ACCEPTED) return;
    if (instance.task_state !== TaskState.REBUILDING || instance.host !== migration.source_compute) return;
    await startEvent(this.db, instance.uuid, ctx.requestId, EVENT, null);
    await moveAllocations(this.db, instance.uuid, migration.uuid);
    let dest: { host: string; node: string };
    try {
      dest = await this.pickDestination(ctx, instance, args.host);
    } catch (err) {
      log.warn({ instance: instance.uuid, err: (err as Error).message }, 'no destination for the evacuation');
      await moveAllocations(this.db, migration.uuid, instance.uuid);
      await updateMigration(this.db, migration.uuid, { status: MigrationStatus.ERROR });
      await changeInstance(this.db, instance.uuid, { task_state: null }, { taskState: [TaskState.REBUILDING] }).catch(
        () => undefined,
      );
      await recordErrorFault(this.db, instance.uuid, err as Error, null);
      await finishEvent(this.db, instance.uuid, ctx.requestId, EVENT, 'Error', failureOf(err as Error));
      return;
    }
    await updateMigration(
      this.db,
      migration.uuid,
      { status: MigrationStatus.PRE_MIGRATING, dest_compute: dest.host, dest_node: dest.node, dest_host: dest.host },
      [MigrationStatus.ACCEPTED],
    );
    // The server is the destination's from now on, as Nova's rebuild records it before it spawns.
    const moved = { ...instance, host: dest.host, node: dest.node };
    await changeInstance(
      this.db,
      instance.uuid,
      { host: dest.host, node: dest.node },
      {
        taskState: [TaskState.REBUILDING],
      },
    );
    await finishEvent(this.db, instance.uuid, ctx.requestId, EVENT, 'Success');
    try {
      const { networkInfo } = await allocateForHost(this.db, moved, dest.host, await remoteGroupsFor(this.compute));
      const start = !args.stopped && instance.vm_state !== VmState.STOPPED;
      // Written anew on the destination (the source's copy is on a dead host), once the ports are bound
      // there, with the password the evacuation set.
      const configDrive = await configDriveMetadata(this.db, this.config, instance.uuid, instance.config_drive);
      await this.compute.rebuildInstance(ctx, dest.host, {
        instance: instancePayload(moved),
        orig_image_ref: instance.image_ref,
        preserve_ephemeral: false,
        recreate: { migration_uuid: migration.uuid, node: dest.node, network_info: networkInfo, start },
        ...(configDrive ? { config_drive: configDrive } : {}),
      });
    } catch (err) {
      await this.rebuilt(ctx, {
        migration_uuid: migration.uuid,
        host: dest.host,
        power_state: PowerState.NOSTATE,
        error: failureOf(err as Error),
      });
    }
  }

  /** Scheduled and claimed: any host but the source (which is down), or the admin's. */
  private async pickDestination(
    ctx: RequestContext,
    instance: Instance,
    requestedHost?: string,
  ): Promise<{ host: string; node: string }> {
    const [chosen] = await moveDestinations(this.db, this.scheduler, ctx, instance, {
      ...(requestedHost ? { requestedHost } : {}),
    });
    return { host: chosen.service_host, node: chosen.nodename };
  }

  /** The destination's outcome: the migration done, or the server put back on its source in ERROR. */
  async rebuilt(ctx: RequestContext, report: EvacuationReport): Promise<void> {
    const migration = await findMigration(this.db, report.migration_uuid);
    if (!migration || migration.migration_type !== 'evacuation') return;
    const instance = await findInstance(this.db, migration.instance_uuid);
    if (!instance) {
      // Deleted meanwhile: its delete freed the instance's share; the migration's goes too.
      await releaseAllocations(this.db, migration.uuid);
      await updateMigration(this.db, migration.uuid, { status: MigrationStatus.ERROR });
      return;
    }
    if (!report.error) {
      if (
        !(await updateMigration(this.db, migration.uuid, { status: MigrationStatus.DONE }, [
          MigrationStatus.PRE_MIGRATING,
        ]))
      ) {
        return;
      }
      const vmState = report.power_state === PowerState.RUNNING ? VmState.ACTIVE : VmState.STOPPED;
      await changeInstance(
        this.db,
        instance.uuid,
        { vm_state: vmState, task_state: null, power_state: report.power_state, launched_at: new Date().toISOString() },
        { taskState: REBUILD_TASKS },
      ).catch((err: Error) =>
        log.warn({ instance: instance.uuid, err: err.message }, 'could not record the evacuation'),
      );
      log.info({ instance: instance.uuid, from: migration.source_compute, to: report.host }, 'server evacuated');
      return;
    }
    if (
      !(await updateMigration(this.db, migration.uuid, { status: MigrationStatus.FAILED }, [
        MigrationStatus.PRE_MIGRATING,
      ]))
    ) {
      return;
    }
    log.warn({ instance: instance.uuid, host: report.host, err: report.error.message }, 'evacuation failed');
    // Back where it was: the destination's claim freed, the source's share the instance's again.
    await moveAllocations(this.db, migration.uuid, instance.uuid);
    const source = { host: migration.source_compute!, node: migration.source_node ?? migration.source_compute! };
    // Only the binding matters here (nothing is sent): the rules are left named, which reads no member.
    await allocateForHost(this.db, { ...instance, ...source }, source.host, 'named').catch((err: Error) =>
      log.warn({ instance: instance.uuid, err: err.message }, 'could not bind the ports back to the source'),
    );
    await changeInstance(
      this.db,
      instance.uuid,
      { ...source, vm_state: VmState.ERROR, task_state: null },
      { taskState: REBUILD_TASKS },
    ).catch(() => undefined);
    const error = Object.assign(new Error(report.error.message), { stack: report.error.traceback });
    await recordErrorFault(this.db, instance.uuid, error, report.host);
  }

  /** The evacuations away from `host` whose guests it still holds (as far as the records say). */
  async evacuationsFromHost(host: string): Promise<{ migration_uuid: string; instance_uuid: string }[]> {
    // Only finished ones (Nova also takes those under way): one that fails yet puts the server back here.
    const migrations = await listMigrations(this.db, {
      sourceCompute: host,
      migrationType: 'evacuation',
      status: MigrationStatus.DONE,
    });
    return migrations.map((m) => ({ migration_uuid: m.uuid, instance_uuid: m.instance_uuid }));
  }

  /** The source removed the guest: its share there freed; a finished evacuation completed. */
  async cleaned(migrationUuid: string, host: string): Promise<void> {
    const migration = await findMigration(this.db, migrationUuid);
    if (!migration || migration.source_compute !== host) return;
    await releaseAllocations(this.db, migration.uuid);
    await updateMigration(this.db, migration.uuid, { status: MigrationStatus.COMPLETED }, [MigrationStatus.DONE]);
  }
}
