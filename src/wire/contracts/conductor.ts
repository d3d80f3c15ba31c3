/**
 * The conductor's RPC contract: the build cast from the API, and the calls through which compute hosts,
 * which hold no database credentials, read and write state (Nova's conductor/rpcapi.py), with the typed
 * client the API and the compute hosts call it through.
 *
 * History: 1.0 the first release. 1.1 service_heartbeat carries the sender's service version (for
 * `[upgrade_levels] ... = auto`) and service_versions reads them back for compute hosts. 1.2 shelve:
 * unshelve_instance (from the API), instance_shelved, instance_shelve_offloaded, instance_unshelved and
 * shelved_instances_due (from compute hosts). 1.3 build_instances carries RequestSpec 1.1
 * (requested_destination). 1.4 resize and cold migration: migrate_server (from the API), move_step and
 * confirm_due_resizes (from compute hosts). 1.5 move_step carries disk_source (where the destination
 * fetches the guest's disks from), which the conductor passes on to finish_resize. 1.6 evacuate: evacuate_server (from the API),
 * evacuation_rebuilt, evacuations_from_host and evacuation_cleaned (from compute hosts); move_step may
 * carry the alternates of a failed prep_resize for a reschedule. 1.7 live migration: live_migrate_instance
 * (from the API), live_migration_step and live_migration_progress (from compute hosts). 1.8
 * instance_update may carry expected_host: a build starts only on the host it is placed on, so a late
 * copy of a cast to a host it was rescheduled from is refused. 1.9 security_group_members: a compute
 * host given a rule naming a remote group without its addresses (Vif 1.2), and with no set of that
 * group, asks for the group's members before it plugs the port.
 */
import { Type, type Static } from 'typebox';
import type { RequestContext } from '../../common/context.ts';
import type { RpcClient } from '../../common/rpc/index.ts';
import { call, cast, ContractClient, defineContract, type ArgsOf, type VersionCap } from '../contract.ts';
import { DiskSnapshotLinkSchema, type DiskSnapshotLink } from '../messages/disk-snapshot-link.ts';
import { DiskSourceSchema } from '../messages/disk-source.ts';
import { GroupMembersSchema, type GroupMembers } from './compute.ts';
import {
  LiveMigrateDataSchema,
  LiveMigrationProgressSchema,
  type LiveMigrationProgress,
} from '../messages/live-migrate-data.ts';
import {
  InstanceChangesSchema,
  InstancePayloadSchema,
  type InstanceChangesPayload,
  type InstancePayload,
} from '../messages/instance-payload.ts';
import { NodeReportSchema, type NodeReport } from '../messages/node-report.ts';
import { RequestSpecSchema, SelectionSchema, type RequestSpec } from '../messages/request-spec.ts';
import { SERVICE_BINARIES, type ServiceBinary } from '../messages/service-binaries.ts';
import { SERVICE_VERSION } from '../service-versions.ts';

const Uuid = Type.String({ minLength: 1 });
const TaskStates = Type.Array(Type.Union([Type.String(), Type.Null()]));
const ActionError = Type.Object({ message: Type.String(), traceback: Type.String() });
const Phase = Type.Union([Type.Literal('start'), Type.Literal('finish')]);
/** An instance action event recorded in the same round trip as a state change (saves a call per build step). */
const EventWithUpdate = Type.Object({ event: Type.String(), phase: Phase, host: Type.String() });
const Binary = Type.Enum(SERVICE_BINARIES);
const Nothing = Type.Void();
/** What a compute host reports of a move's step; each names the step it finished (or failed). */
export const MOVE_STEPS = ['prepared', 'migrated', 'finished', 'confirmed', 'reverted_dest', 'reverted'] as const;
export type MoveStepName = (typeof MOVE_STEPS)[number];
/** What a compute host reports of a live migration's step (1.7). */
export const LIVE_STEPS = ['prepared', 'migrated', 'finished', 'cleaned'] as const;
export type LiveStepReportName = (typeof LIVE_STEPS)[number];

export const conductorContract = defineContract({
  topic: 'conductor',
  version: '1.9',
  methods: {
    build_instances: cast(
      '1.0',
      Type.Object({
        instance_uuids: Type.Array(Uuid, { minItems: 1 }),
        // What the API just recorded, so the conductor need not read it back (Nova passes the objects too).
        // Optional: without them the conductor reads the request spec and the instances from the database.
        request_spec: Type.Optional(RequestSpecSchema),
        instances: Type.Optional(Type.Array(InstancePayloadSchema)),
      }),
    ),
    service_heartbeat: call(
      '1.0',
      Type.Object({
        host: Type.String(),
        binary: Binary,
        topic: Type.String(),
        /** The sender's service version (service-versions.ts); absent from 1.0 senders, which are version 1. */
        version: Type.Optional(Type.Integer({ minimum: 1 })),
      }),
      Nothing,
      [{ version: '1.1', backport: ({ version: _version, ...rest }) => rest }],
    ),
    /** The lowest service version of each binary's registered services, for `auto` upgrade levels. */
    service_versions: call(
      '1.1',
      Type.Object({ binaries: Type.Array(Binary, { minItems: 1 }) }),
      Type.Record(Type.String(), Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    ),
    report_nodes: call('1.0', Type.Object({ host: Type.String(), nodes: Type.Array(NodeReportSchema) }), Nothing),
    instance_update: call(
      '1.0',
      Type.Object({
        uuid: Uuid,
        changes: InstanceChangesSchema,
        expected_task_state: Type.Optional(TaskStates),
        /** Also guard on vm_state (the power-state sync must not undo a start that raced with it). */
        expected_vm_state: Type.Optional(Type.Array(Type.String())),
        /** Also guard on the host the instance is placed on (1.8). */
        expected_host: Type.Optional(Type.String()),
        event: Type.Optional(EventWithUpdate),
      }),
      Nothing,
      // A conductor of 1.7 does not guard on the host: the build starts as it did before.
      [{ version: '1.8', backport: ({ expected_host: _expectedHost, ...rest }) => rest }],
    ),
    instance_deleted: call('1.0', Type.Object({ uuid: Uuid }), Nothing),
    instances_on_host: call(
      '1.0',
      Type.Object({ host: Type.String(), uuid: Type.Optional(Uuid) }),
      Type.Array(InstancePayloadSchema),
    ),
    instances_by_uuid: call(
      '1.0',
      Type.Object({ uuids: Type.Array(Uuid) }),
      Type.Array(
        Type.Object({
          uuid: Type.String(),
          host: Type.Union([Type.String(), Type.Null()]),
          deleted_at: Type.Union([Type.String(), Type.Null()]),
        }),
      ),
    ),
    start_instance_action: call('1.0', Type.Object({ uuid: Uuid, action: Type.String({ minLength: 1 }) }), Nothing),
    action_event: call(
      '1.0',
      Type.Object({
        uuid: Uuid,
        event: Type.String(),
        phase: Phase,
        host: Type.String(),
        error: Type.Optional(ActionError),
      }),
      Nothing,
    ),
    record_fault: call(
      '1.0',
      Type.Object({
        uuid: Uuid,
        code: Type.Integer(),
        message: Type.String(),
        details: Type.String(),
        host: Type.String(),
      }),
      Nothing,
    ),
    reschedule_build: cast(
      '1.0',
      Type.Object({
        uuid: Uuid,
        host: Type.String(),
        node: Type.String(),
        attempt: Type.Integer({ minimum: 1 }),
        alternates: Type.Array(SelectionSchema),
        error: ActionError,
        /** The failure is the request's, not the host's (a corrupt image): ERROR at once, no other host. */
        abort: Type.Optional(Type.Boolean()),
      }),
    ),
    sync_disk_snapshots: call(
      '1.0',
      Type.Object({
        uuid: Uuid,
        /** The chain as the compute host's driver reports it, oldest link first; null if it could not tell. */
        chain: Type.Union([Type.Array(DiskSnapshotLinkSchema), Type.Null()]),
      }),
      Nothing,
    ),
    /** unshelve: power on in place (SHELVED) or schedule, claim and spawn again (SHELVED_OFFLOADED). */
    unshelve_instance: cast(
      '1.2',
      /** `host`: an admin's chosen destination (2.91), for an offloaded server. */
      Type.Object({ uuid: Uuid, host: Type.Optional(Type.String({ minLength: 1 })) }),
    ),
    /** The disk is in the image: SHELVED, the shelved_* fields recorded; task shelving_offloading if `offload`. */
    instance_shelved: call(
      '1.2',
      Type.Object({
        uuid: Uuid,
        image_id: Type.String({ minLength: 1 }),
        host: Type.String(),
        power_state: Type.Integer(),
        offload: Type.Boolean(),
      }),
      Nothing,
    ),
    /**
     * The guest is gone from its host (offloaded, or an unshelve's spawn failed): allocations freed,
     * host and node cleared, SHELVED_OFFLOADED with no task; guarded by the tasks expected.
     */
    instance_shelve_offloaded: call(
      '1.2',
      Type.Object({ uuid: Uuid, power_state: Type.Integer(), expected_task_state: TaskStates }),
      Nothing,
    ),
    /** The unshelved guest runs: ACTIVE, no task, the shelved_* fields cleared. */
    instance_unshelved: call(
      '1.2',
      Type.Object({ uuid: Uuid, power_state: Type.Integer(), expected_task_state: TaskStates }),
      Nothing,
    ),
    /**
     * resize or migrate (the API set task resize_prep and recorded the migration): the source's share goes
     * under the migration, the scheduler picks and claims a destination, then prep_resize is cast there.
     * `host`: an admin's chosen destination (migrate, 2.56).
     */
    migrate_server: cast(
      '1.4',
      Type.Object({
        uuid: Uuid,
        migration_uuid: Uuid,
        host: Type.Optional(Type.String({ minLength: 1 })),
      }),
    ),
    /** A compute host finished (or, with `error`, failed) its step of a move: the conductor records it and casts the next. */
    move_step: call(
      '1.4',
      Type.Object({
        migration_uuid: Uuid,
        step: Type.Enum(MOVE_STEPS),
        host: Type.String(),
        power_state: Type.Integer(),
        error: Type.Optional(ActionError),
        /** `migrated`: where the destination fetches the guest's disks from (1.5). */
        disk_source: Type.Optional(DiskSourceSchema),
        /** A failed prep_resize: the alternates it was given, for the conductor to try the next (1.6). */
        alternates: Type.Optional(Type.Array(SelectionSchema)),
      }),
      Nothing,
      [
        { version: '1.5', backport: ({ disk_source: _diskSource, ...rest }) => rest },
        { version: '1.6', backport: ({ alternates: _alternates, ...rest }) => rest },
      ],
    ),
    /** Resizes finished on `host` longer ago than `window_seconds` are confirmed (resize_confirm_window). */
    confirm_due_resizes: call(
      '1.4',
      Type.Object({ host: Type.String(), window_seconds: Type.Integer({ minimum: 1 }) }),
      Nothing,
    ),
    /**
     * evacuate (the API set task rebuilding and recorded the migration, accepted): the source's share goes
     * under the migration, a destination other than the source is scheduled and claimed (`host`: the
     * admin's), the ports bound there, then rebuild_instance with `recreate` is cast to it.
     */
    evacuate_server: cast(
      '1.6',
      Type.Object({
        uuid: Uuid,
        migration_uuid: Uuid,
        host: Type.Optional(Type.String({ minLength: 1 })),
        /** 2.95: the evacuated server ends SHUTOFF whatever it was. */
        stopped: Type.Optional(Type.Boolean()),
      }),
    ),
    /** The destination rebuilt the evacuated server (or, with `error`, could not, having removed its part). */
    evacuation_rebuilt: call(
      '1.6',
      Type.Object({
        migration_uuid: Uuid,
        host: Type.String(),
        power_state: Type.Integer(),
        error: Type.Optional(ActionError),
      }),
      Nothing,
    ),
    /** At a compute host's start: the servers evacuated away from it whose leftovers it removes. */
    evacuations_from_host: call(
      '1.6',
      Type.Object({ host: Type.String() }),
      Type.Array(Type.Object({ migration_uuid: Uuid, instance_uuid: Uuid })),
    ),
    /** The source host removed an evacuated server's guest: its share there freed, the migration completed. */
    evacuation_cleaned: call('1.6', Type.Object({ migration_uuid: Uuid, host: Type.String() }), Nothing),
    /**
     * os-migrateLive (the API set task migrating and recorded the migration, accepted): the source's share
     * goes under the migration, a destination is scheduled and claimed (or the admin's host taken as it is,
     * when forced), both hosts check, then the destination prepares.
     */
    live_migrate_instance: cast(
      '1.7',
      Type.Object({
        uuid: Uuid,
        migration_uuid: Uuid,
        host: Type.Optional(Type.String({ minLength: 1 })),
        /** The admin's host is taken without the scheduler (force, 2.30 to 2.67, or a host before 2.30). */
        force: Type.Boolean(),
        block_migration: Type.Union([Type.Boolean(), Type.Null()]),
      }),
    ),
    /** A compute host finished (or, with `error`, failed) its step of a live migration. */
    live_migration_step: call(
      '1.7',
      Type.Object({
        migration_uuid: Uuid,
        step: Type.Enum(LIVE_STEPS),
        host: Type.String(),
        power_state: Type.Integer(),
        error: Type.Optional(ActionError),
        /** `migrated` failed because an admin aborted it: the migration is cancelled, not in error. */
        cancelled: Type.Optional(Type.Boolean()),
        /** `prepared`: what the source streams to. */
        migrate_data: Type.Optional(LiveMigrateDataSchema),
      }),
      Nothing,
    ),
    /** The source's figures of a running live migration's transfer. */
    live_migration_progress: call(
      '1.7',
      Type.Object({ migration_uuid: Uuid, progress: LiveMigrationProgressSchema }),
      Nothing,
    ),
    /**
     * The member addresses of security groups (one entry per id asked, in that order; a group without
     * members or gone has empty lists), for a host that does not follow a group its guest's rules name.
     */
    security_group_members: call(
      '1.9',
      Type.Object({ group_ids: Type.Array(Uuid, { minItems: 1 }) }),
      Type.Array(GroupMembersSchema),
    ),
    /** The host's SHELVED instances with no task shelved before `shelved_before` (periodic offload). */
    shelved_instances_due: call(
      '1.2',
      Type.Object({ host: Type.String(), shelved_before: Type.String() }),
      Type.Array(InstancePayloadSchema),
    ),
  },
});

type ConductorMethods = typeof conductorContract.methods;
export type ActionEventWithUpdate = Static<typeof EventWithUpdate>;
export type RescheduleRequest = ArgsOf<ConductorMethods, 'reschedule_build'>;
export type ActionEventRequest = ArgsOf<ConductorMethods, 'action_event'>;
export type FaultRequest = ArgsOf<ConductorMethods, 'record_fault'>;
export type LiveStepReport = ArgsOf<ConductorMethods, 'live_migration_step'>;
export type LiveMigrateRequest = ArgsOf<ConductorMethods, 'live_migrate_instance'>;

/** The typed client of the conductor, for the API and the compute hosts. */
export class ConductorRpcApi {
  private readonly target = { topic: conductorContract.topic };
  private readonly rpc: ContractClient<ConductorMethods>;

  /** `peers`: the highest conductor version the conductors speak ([upgrade_levels] conductor). */
  constructor(client: RpcClient, peers?: VersionCap) {
    this.rpc = new ContractClient(client, conductorContract, peers);
  }

  /** `spec` and `instances` are what the caller just recorded; the conductor reads them itself if absent. */
  buildInstances(
    ctx: RequestContext,
    instanceUuids: readonly string[],
    spec?: RequestSpec,
    instances?: readonly InstancePayload[],
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target, 'build_instances', {
      instance_uuids: [...instanceUuids],
      ...(spec ? { request_spec: spec } : {}),
      ...(instances ? { instances: [...instances] } : {}),
    });
  }

  serviceHeartbeat(ctx: RequestContext, host: string, binary: ServiceBinary, topic: string): Promise<void> {
    return this.rpc.call(ctx, this.target, 'service_heartbeat', { host, binary, topic, version: SERVICE_VERSION });
  }

  /** The lowest service version of each binary (null: none registered). */
  serviceVersions(ctx: RequestContext, binaries: ServiceBinary[]): Promise<Record<string, number | null>> {
    return this.rpc.call(ctx, this.target, 'service_versions', { binaries });
  }

  reportNodes(ctx: RequestContext, host: string, nodes: NodeReport[]): Promise<void> {
    return this.rpc.call(ctx, this.target, 'report_nodes', { host, nodes });
  }

  /**
   * A compute host's state change, guarded by the task states it expects, with an action event in the
   * same round trip. Nothing comes back: no caller needs the instance, and reading it cost a query.
   */
  async instanceUpdate(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expectedTaskState?: readonly (string | null)[],
    event?: ActionEventWithUpdate,
    expectedVmState?: readonly string[],
    expectedHost?: string,
  ): Promise<void> {
    await this.rpc.call(ctx, this.target, 'instance_update', {
      uuid,
      changes,
      ...(expectedTaskState ? { expected_task_state: [...expectedTaskState] } : {}),
      ...(expectedVmState ? { expected_vm_state: [...expectedVmState] } : {}),
      ...(expectedHost !== undefined ? { expected_host: expectedHost } : {}),
      ...(event ? { event } : {}),
    });
  }

  instanceDeleted(ctx: RequestContext, uuid: string): Promise<void> {
    return this.rpc.call(ctx, this.target, 'instance_deleted', { uuid });
  }

  /** The live instances of `host`; with `uuid`, that one only (none if it is not live there). */
  instancesOnHost(ctx: RequestContext, host: string, uuid?: string): Promise<InstancePayload[]> {
    return this.rpc.call(ctx, this.target, 'instances_on_host', uuid ? { host, uuid } : { host });
  }

  /** What the database says of `uuids`, deleted rows included; an absent uuid is unknown to it. */
  instancesByUuid(
    ctx: RequestContext,
    uuids: readonly string[],
  ): Promise<{ uuid: string; host: string | null; deleted_at: string | null }[]> {
    return this.rpc.call(ctx, this.target, 'instances_by_uuid', { uuids: [...uuids] });
  }

  /** Records an action the compute host starts by itself, under ctx's request id. */
  startInstanceAction(ctx: RequestContext, uuid: string, action: string): Promise<void> {
    return this.rpc.call(ctx, this.target, 'start_instance_action', { uuid, action });
  }

  actionEvent(ctx: RequestContext, args: ActionEventRequest): Promise<void> {
    return this.rpc.call(ctx, this.target, 'action_event', args);
  }

  recordFault(ctx: RequestContext, args: FaultRequest): Promise<void> {
    return this.rpc.call(ctx, this.target, 'record_fault', args);
  }

  rescheduleBuild(ctx: RequestContext, args: RescheduleRequest): Promise<void> {
    return this.rpc.cast(ctx, this.target, 'reschedule_build', args);
  }

  unshelveInstance(ctx: RequestContext, uuid: string, host?: string): Promise<void> {
    return this.rpc.cast(ctx, this.target, 'unshelve_instance', host ? { uuid, host } : { uuid });
  }

  instanceShelved(ctx: RequestContext, args: ArgsOf<ConductorMethods, 'instance_shelved'>): Promise<void> {
    return this.rpc.call(ctx, this.target, 'instance_shelved', args);
  }

  instanceShelveOffloaded(
    ctx: RequestContext,
    uuid: string,
    powerState: number,
    expectedTaskState: readonly (string | null)[],
  ): Promise<void> {
    return this.rpc.call(ctx, this.target, 'instance_shelve_offloaded', {
      uuid,
      power_state: powerState,
      expected_task_state: [...expectedTaskState],
    });
  }

  instanceUnshelved(
    ctx: RequestContext,
    uuid: string,
    powerState: number,
    expectedTaskState: readonly (string | null)[],
  ): Promise<void> {
    return this.rpc.call(ctx, this.target, 'instance_unshelved', {
      uuid,
      power_state: powerState,
      expected_task_state: [...expectedTaskState],
    });
  }

  shelvedInstancesDue(ctx: RequestContext, host: string, shelvedBefore: string): Promise<InstancePayload[]> {
    return this.rpc.call(ctx, this.target, 'shelved_instances_due', { host, shelved_before: shelvedBefore });
  }

  migrateServer(ctx: RequestContext, uuid: string, migrationUuid: string, host?: string): Promise<void> {
    return this.rpc.cast(ctx, this.target, 'migrate_server', {
      uuid,
      migration_uuid: migrationUuid,
      ...(host ? { host } : {}),
    });
  }

  moveStep(ctx: RequestContext, args: ArgsOf<ConductorMethods, 'move_step'>): Promise<void> {
    return this.rpc.call(ctx, this.target, 'move_step', args);
  }

  confirmDueResizes(ctx: RequestContext, host: string, windowSeconds: number): Promise<void> {
    return this.rpc.call(ctx, this.target, 'confirm_due_resizes', { host, window_seconds: windowSeconds });
  }

  evacuateServer(
    ctx: RequestContext,
    args: { uuid: string; migration_uuid: string; host?: string; stopped?: boolean },
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target, 'evacuate_server', args);
  }

  evacuationRebuilt(ctx: RequestContext, args: ArgsOf<ConductorMethods, 'evacuation_rebuilt'>): Promise<void> {
    return this.rpc.call(ctx, this.target, 'evacuation_rebuilt', args);
  }

  evacuationsFromHost(ctx: RequestContext, host: string): Promise<{ migration_uuid: string; instance_uuid: string }[]> {
    return this.rpc.call(ctx, this.target, 'evacuations_from_host', { host });
  }

  evacuationCleaned(ctx: RequestContext, migrationUuid: string, host: string): Promise<void> {
    return this.rpc.call(ctx, this.target, 'evacuation_cleaned', { migration_uuid: migrationUuid, host });
  }

  liveMigrateInstance(ctx: RequestContext, args: ArgsOf<ConductorMethods, 'live_migrate_instance'>): Promise<void> {
    return this.rpc.cast(ctx, this.target, 'live_migrate_instance', args);
  }

  liveMigrationStep(ctx: RequestContext, args: ArgsOf<ConductorMethods, 'live_migration_step'>): Promise<void> {
    return this.rpc.call(ctx, this.target, 'live_migration_step', args);
  }

  liveMigrationProgress(ctx: RequestContext, migrationUuid: string, progress: LiveMigrationProgress): Promise<void> {
    return this.rpc.call(ctx, this.target, 'live_migration_progress', { migration_uuid: migrationUuid, progress });
  }

  /** The members of the security groups, one entry per id in that order (1.9). */
  securityGroupMembers(ctx: RequestContext, groupIds: readonly string[]): Promise<GroupMembers[]> {
    return this.rpc.call(ctx, this.target, 'security_group_members', { group_ids: [...groupIds] });
  }

  /** The instance's disk snapshot records brought in line with the chain its driver reports. */
  syncDiskSnapshots(ctx: RequestContext, uuid: string, chain: readonly DiskSnapshotLink[] | null): Promise<void> {
    return this.rpc.call(ctx, this.target, 'sync_disk_snapshots', { uuid, chain: chain ? [...chain] : null });
  }
}
