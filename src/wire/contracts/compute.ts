/**
 * The compute service's RPC contract: casts to `compute.<host>` from the API and the conductor, calls for
 * consoles, diagnostics and passwords (Nova's compute/rpcapi.py), and the typed client they are sent through.
 * History: 1.0 the first release. 1.1 rescue_instance, unrescue_instance, trigger_crash_dump,
 * get_diagnostics. 1.2 soft_delete_instance, restore_instance (deferred delete) and the call
 * set_admin_password (changePassword). 1.3 rebuild_instance.
 * 1.4 shelve_instance, shelve_offload_instance, unshelve_instance, backup_instance.
 * 1.5 cache_images (an aggregate's image pre-caching, compute API 2.81).
 * 1.6 guest networking: build_and_run_instance and unshelve_instance carry network_info; attach_interface,
 * detach_interface (calls, as Nova's) and network_info_changed (from the network service).
 * 1.7 resize and cold migration (Nova's): prep_resize (destination), resize_instance (source),
 * finish_resize (destination), confirm_resize (source), revert_resize (destination) and
 * finish_revert_resize (source), each step cast by the conductor once the one before reported.
 * 1.8 finish_resize carries disk_source: where the destination fetches the guest's disks from.
 * 1.9 evacuate: rebuild_instance carries `recreate` (the guest is built anew on this host from its image,
 * its source host being down); prep_resize carries the scheduler's alternates for a reschedule.
 * 1.10 config drives: build_and_run_instance and rebuild_instance carry config_drive, what the host
 * writes on the guest's config drive (older hosts build without one).
 * 1.11 live migration (Nova's): check_can_live_migrate_destination and check_can_live_migrate_source
 * (calls), pre_live_migration (destination), live_migration (source), post_live_migration_at_destination,
 * post_live_migration (source: what is left there goes), rollback_live_migration_at_destination, and
 * live_migration_abort and live_migration_force_complete (source, from the API).
 * 1.12 security_group_members_changed (the addresses of security groups' member ports, for the hosts
 * whose guests have rules naming those groups as remote group); Vif 1.1 (rules name their remote group).
 * 1.13 unshelve_instance carries config_drive: an offloaded guest spawned again gets its drive back.
 * 1.14 Vif 1.2: a rule naming a remote group may come without the group's addresses; the host applies
 * its own set of the group, asking the conductor (conductor 1.9 security_group_members) for a set it
 * does not have. Senders expand the rules for hosts before 1.14 (`followsRemoteGroups`).
 */
import { Type, type Static } from 'typebox';
import type { RequestContext } from '../../common/context.ts';
import { compareVersions, type RpcClient } from '../../common/rpc/index.ts';
import { call, cast, ContractClient, defineContract, type VersionCap } from '../contract.ts';
import { InstancePayloadSchema, type InstancePayload } from '../messages/instance-payload.ts';
import { SelectionSchema, type Selection } from '../messages/request-spec.ts';
import { NetworkInfoSchema, VifSchema, type NetworkInfo, type Vif } from '../messages/network-info.ts';
import { GuestDiagnosticsSchema, type GuestDiagnostics } from '../messages/guest-diagnostics.ts';
import { DiskSourceSchema, type DiskSource } from '../messages/disk-source.ts';
import { InstanceMetadataSchema, type InstanceMetadata } from '../messages/instance-metadata.ts';
import { LiveMigrateDataSchema, type LiveMigrateData } from '../messages/live-migrate-data.ts';

/** A security group's member addresses (fixed IPs and allowed address pairs) as host prefixes, by family. */
export const GroupMembersSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  ipv4: Type.Array(Type.String()),
  ipv6: Type.Array(Type.String()),
});
export type GroupMembers = Static<typeof GroupMembersSchema>;

/** The compute version whose hosts keep remote groups' members themselves (Vif 1.2). */
const FOLLOWS_REMOTE_GROUPS = '1.14';

/** The guest state actions, each a cast `<action>_instance`. */
export type GuestStateAction = 'pause' | 'unpause' | 'suspend' | 'resume';
/** Disk snapshots (a Stratus extension), each a cast `<action>_disk_snapshot`. */
export type DiskSnapshotAction = 'create' | 'delete' | 'revert';

const Instance = Type.Object({ instance: InstancePayloadSchema });
const DiskSnapshot = Type.Object({ instance: InstancePayloadSchema, snapshot_id: Type.String({ minLength: 1 }) });
const RebuildArgsSchema = Type.Object({
  instance: InstancePayloadSchema,
  /** The image the guest was built from before, for the logs and the action's record. */
  orig_image_ref: Type.String(),
  /** Keep the ephemeral disk's contents (true) or recreate it empty (false, Nova's default). */
  preserve_ephemeral: Type.Boolean(),
  /**
   * Evacuate (Nova's recreate): the guest was on another host, now down; it is built here on `node` from
   * its image with these NICs (its ports already bound here), and the conductor told how it went.
   */
  recreate: Type.Optional(
    Type.Object({
      migration_uuid: Type.String({ minLength: 1 }),
      node: Type.String({ minLength: 1 }),
      network_info: NetworkInfoSchema,
      /** Start the rebuilt guest (false: it stays SHUTOFF, a stopped server or an evacuation at 2.95). */
      start: Type.Boolean(),
    }),
  ),
  /** What the rebuilt guest's config drive holds (1.10); absent: the guest has none. */
  config_drive: Type.Optional(InstanceMetadataSchema),
});
export type RebuildArgs = Static<typeof RebuildArgsSchema>;

/** The move a resize step belongs to: its migration record, as far as the hosts need it. */
export const MoveSchema = Type.Object({
  migration_uuid: Type.String({ minLength: 1 }),
  migration_type: Type.Union([Type.Literal('resize'), Type.Literal('migration')]),
  source_compute: Type.String({ minLength: 1 }),
  source_node: Type.String({ minLength: 1 }),
  dest_compute: Type.String({ minLength: 1 }),
  dest_node: Type.String({ minLength: 1 }),
});
export type Move = Static<typeof MoveSchema>;
/** A step of a move: the instance (its flavor the one the step works with) and the move. */
const MoveStep = Type.Object({ instance: InstancePayloadSchema, move: MoveSchema });
/** prep_resize: the step, and the scheduler's other hosts for the move should this one refuse (1.9). */
const PrepStep = Type.Object({
  instance: InstancePayloadSchema,
  move: MoveSchema,
  alternates: Type.Optional(Type.Array(SelectionSchema)),
});
/** A step that gives the guest its interfaces on the host it now runs on (ports already bound there). */
const MoveStepWithNics = Type.Object({
  instance: InstancePayloadSchema,
  move: MoveSchema,
  network_info: NetworkInfoSchema,
  /** Start the guest once it is set up (it ran before the move). */
  power_on: Type.Boolean(),
});
/** finish_resize: also where the guest's disks are fetched from, when the source's driver handed any over (1.8). */
const FinishResize = Type.Object({
  ...MoveStepWithNics.properties,
  disk_source: Type.Optional(DiskSourceSchema),
});

/** The live migration a step belongs to (1.11): its record, as far as the hosts need it. */
export const LiveMoveSchema = Type.Object({
  migration_uuid: Type.String({ minLength: 1 }),
  source_compute: Type.String({ minLength: 1 }),
  source_node: Type.String({ minLength: 1 }),
  dest_compute: Type.String({ minLength: 1 }),
  dest_node: Type.String({ minLength: 1 }),
  /** The admin asked for block migration (true), against it (false), or left it to the hosts (null). */
  block_migration: Type.Union([Type.Boolean(), Type.Null()]),
});
export type LiveMove = Static<typeof LiveMoveSchema>;
const LiveStep = Type.Object({ instance: InstancePayloadSchema, move: LiveMoveSchema });
/** A live step on the destination that sets the guest's interfaces up there (its ports already known). */
const LiveStepWithNics = Type.Object({ ...LiveStep.properties, network_info: NetworkInfoSchema });
/** abort or force complete of the live migration under way (from the API, to the source). */
const LiveMigrationControl = Type.Object({
  instance: InstancePayloadSchema,
  migration_uuid: Type.String({ minLength: 1 }),
});

/** Where the console proxy reaches a guest's VNC server. */
const VncConsoleSchema = Type.Object({ host: Type.String(), port: Type.Integer({ minimum: 1, maximum: 65535 }) });

export const computeContract = defineContract({
  topic: 'compute',
  version: '1.14',
  methods: {
    build_and_run_instance: cast(
      '1.0',
      Type.Object({
        instance: InstancePayloadSchema,
        node: Type.String(),
        /** Where to try next if this build fails, without asking the scheduler again. */
        alternates: Type.Array(SelectionSchema),
        attempt: Type.Integer({ minimum: 1 }),
        /** The guest's interfaces, its ports already bound to this host (1.6; older hosts build without NICs). */
        network_info: Type.Optional(NetworkInfoSchema),
        /** What the guest's config drive holds (1.10); absent: the guest has none. */
        config_drive: Type.Optional(InstanceMetadataSchema),
      }),
      [
        { version: '1.6', backport: ({ network_info: _networkInfo, ...rest }) => rest },
        { version: '1.10', backport: ({ config_drive: _configDrive, ...rest }) => rest },
      ],
    ),
    terminate_instance: cast('1.0', Instance),
    stop_instance: cast('1.0', Instance),
    start_instance: cast('1.0', Instance),
    reboot_instance: cast(
      '1.0',
      Type.Object({
        instance: InstancePayloadSchema,
        reboot_type: Type.Union([Type.Literal('SOFT'), Type.Literal('HARD')]),
      }),
    ),
    pause_instance: cast('1.0', Instance),
    unpause_instance: cast('1.0', Instance),
    suspend_instance: cast('1.0', Instance),
    resume_instance: cast('1.0', Instance),
    /** createImage: the image (queued) exists; compute captures the disk and uploads it into it. */
    snapshot_instance: cast(
      '1.0',
      Type.Object({ instance: InstancePayloadSchema, image_id: Type.String({ minLength: 1 }) }),
    ),
    create_disk_snapshot: cast('1.0', DiskSnapshot),
    delete_disk_snapshot: cast('1.0', DiskSnapshot),
    revert_disk_snapshot: cast('1.0', DiskSnapshot),
    get_console_output: call(
      '1.0',
      Type.Object({
        instance: InstancePayloadSchema,
        tail_length: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
      }),
      Type.String(),
    ),
    get_vnc_console: call('1.0', Instance, VncConsoleSchema),
    /** The API set task rescuing; the guest boots `rescue_image_ref` (null: its own image) from its first disk. */
    rescue_instance: cast(
      '1.1',
      Type.Object({
        instance: InstancePayloadSchema,
        rescue_password: Type.String(),
        rescue_image_ref: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
      }),
    ),
    unrescue_instance: cast('1.1', Instance),
    trigger_crash_dump: cast('1.1', Instance),
    /** A call: a running guest's figures; InstanceInvalidState when it does not run. */
    get_diagnostics: call('1.1', Instance, GuestDiagnosticsSchema),
    /** Deferred delete: the guest is powered off and the instance SOFT_DELETED (reclaim_instance_interval). */
    soft_delete_instance: cast('1.2', Instance),
    restore_instance: cast('1.2', Instance),
    /** A call, as in Nova: the API answers the request with the driver's refusal (no guest agent, ...). */
    set_admin_password: call(
      '1.2',
      Type.Object({ instance: InstancePayloadSchema, new_pass: Type.String() }),
      Type.Void(),
    ),
    /**
     * rebuild: the API stored the new image and attributes in the instance (its payload carries the new
     * image_ref) and set task_state rebuilding; compute recreates the guest's disks from that image.
     */
    rebuild_instance: cast('1.3', RebuildArgsSchema, [
      {
        version: '1.9',
        backport: ({ recreate, ...rest }) => {
          // A host of an older release would rebuild in place a guest it does not have.
          if (recreate) throw new Error('The compute hosts are too old to evacuate servers (compute RPC 1.9).');
          return rest;
        },
      },
      { version: '1.10', backport: ({ config_drive: _configDrive, ...rest }) => rest },
    ]),
    /** createBackup: as snapshot_instance, then the server's backups of the type beyond `rotation` deleted. */
    backup_instance: cast(
      '1.4',
      Type.Object({
        instance: InstancePayloadSchema,
        image_id: Type.String({ minLength: 1 }),
        backup_type: Type.String(),
        rotation: Type.Integer({ minimum: 0 }),
      }),
    ),
    /** shelve: the image (queued) exists; compute powers off, uploads the disk into it, maybe offloads. */
    shelve_instance: cast(
      '1.4',
      Type.Object({ instance: InstancePayloadSchema, image_id: Type.String({ minLength: 1 }) }),
    ),
    /** shelveOffload: compute destroys the shelved guest; the conductor frees its host. */
    shelve_offload_instance: cast('1.4', Instance),
    /**
     * unshelve: a SHELVED guest is powered on where it is; a SHELVED_OFFLOADED one is spawned on `node`
     * (claimed by the conductor) from the shelved image. Either way the image is deleted once it runs.
     */
    unshelve_instance: cast(
      '1.4',
      Type.Object({
        instance: InstancePayloadSchema,
        image_id: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
        node: Type.Union([Type.String(), Type.Null()]),
        /** An offloaded guest's interfaces, its ports bound to this host (1.6). */
        network_info: Type.Optional(NetworkInfoSchema),
        /** What an offloaded guest's config drive holds, written afresh where it lands (1.13); absent: none. */
        config_drive: Type.Optional(InstanceMetadataSchema),
      }),
      [
        { version: '1.6', backport: ({ network_info: _networkInfo, ...rest }) => rest },
        { version: '1.13', backport: ({ config_drive: _configDrive, ...rest }) => rest },
      ],
    ),
    /**
     * os-interface attach: the port is bound to this host; the guest gets a NIC for it. A call, as in
     * Nova: the API answers with the outcome (a refusal of the driver comes back as the same error).
     */
    attach_interface: call('1.6', Type.Object({ instance: InstancePayloadSchema, vif: VifSchema }), Type.Void()),
    /** os-interface detach: the guest's NIC of the port goes; the API unbinds or deletes the port after. */
    detach_interface: call('1.6', Type.Object({ instance: InstancePayloadSchema, vif: VifSchema }), Type.Void()),
    /**
     * From the network service: a port of the guest changed (its security groups, their rules, a floating
     * IP), so the host's datapath applies the guest's interfaces as they now are.
     */
    network_info_changed: cast(
      '1.6',
      Type.Object({ instance: InstancePayloadSchema, network_info: NetworkInfoSchema }),
    ),
    /**
     * From the network service (Neutron's security_groups_member_updated): these groups' members are now
     * these addresses; every guest here with a rule naming one of them as remote group gets the rule
     * expanded to them. Sent to each host with such a guest, whichever host the changed port is on.
     */
    security_group_members_changed: cast('1.12', Type.Object({ groups: Type.Array(GroupMembersSchema) })),
    /** Destination: can it take the guest (the instance carries the new flavor)? Reports `prepared`. */
    prep_resize: cast('1.7', PrepStep, [{ version: '1.9', backport: ({ alternates: _alternates, ...rest }) => rest }]),
    /** Source: the guest is powered off and its disk handed over (migrate_disk_and_power_off). Reports `migrated`. */
    resize_instance: cast('1.7', MoveStep),
    /** Destination: the guest is set up here with the new flavor (finish_migration). Reports `finished`. */
    finish_resize: cast('1.7', FinishResize, [
      { version: '1.8', backport: ({ disk_source: _diskSource, ...rest }) => rest },
    ]),
    /** Source: the old guest and its interfaces here are removed (confirm_migration). Reports `confirmed`. */
    confirm_resize: cast('1.7', MoveStep),
    /** Destination: the new guest and its interfaces here are removed. Reports `reverted_dest`. */
    revert_resize: cast('1.7', MoveStep),
    /** Source: the old guest runs again with its interfaces (finish_revert_migration). Reports `reverted`. */
    finish_revert_resize: cast('1.7', MoveStepWithNics),
    /**
     * Pre-caching (2.81): the host fetches each image into its image cache, so later builds of it start
     * without a download. A cast: the API answers 202 at once and the host logs what each image came to.
     */
    cache_images: cast('1.5', Type.Object({ image_ids: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }) })),
    /** Destination (a call): can this host take the guest live? A refusal comes back as the error. */
    check_can_live_migrate_destination: call('1.11', LiveStep, Type.Void()),
    /** Source (a call): can the guest leave live (it runs, is not rescued, the driver can)? */
    check_can_live_migrate_source: call('1.11', LiveStep, Type.Void()),
    /** Destination: NICs plugged and the guest made ready to receive the state. Reports `prepared`. */
    pre_live_migration: cast('1.11', LiveStepWithNics),
    /** Source: the guest streamed to `migrate_data`; it stops here once it is there. Reports `migrated`. */
    live_migration: cast('1.11', Type.Object({ ...LiveStep.properties, migrate_data: LiveMigrateDataSchema })),
    /** Destination: the migrated guest resumed with its interfaces (ports now bound here). Reports `finished`. */
    post_live_migration_at_destination: cast('1.11', LiveStepWithNics),
    /** Source: the guest left here (stopped) and its interfaces go. Reports `cleaned`. */
    post_live_migration: cast('1.11', LiveStep),
    /** Destination: what pre_live_migration set up goes (the guest runs on at the source). */
    rollback_live_migration_at_destination: cast('1.11', LiveStep),
    /** Source: the live migration under way is cancelled (DELETE /servers/{id}/migrations/{id}). */
    live_migration_abort: cast('1.11', LiveMigrationControl),
    /** Source: the live migration under way is made to converge (force_complete). */
    live_migration_force_complete: cast('1.11', LiveMigrationControl),
  },
});

/** The live migration steps cast to one host with the instance and the move only. */
export type LiveStepName =
  | 'check_can_live_migrate_destination'
  | 'check_can_live_migrate_source'
  | 'post_live_migration'
  | 'rollback_live_migration_at_destination';

export class ComputeRpcApi {
  private readonly rpc: ContractClient<typeof computeContract.methods>;

  /** `peers`: the highest compute version the compute hosts speak ([upgrade_levels] compute). */
  constructor(client: RpcClient, peers?: VersionCap) {
    this.rpc = new ContractClient(client, computeContract, peers);
  }

  private target(host: string) {
    return { topic: computeContract.topic, server: host };
  }

  /**
   * Whether the hosts read Vif 1.2 (compute 1.14): a rule naming a remote group may then be sent with the
   * group's id alone, each host keeping the group's members itself. Hosts below it need the addresses.
   */
  async followsRemoteGroups(): Promise<boolean> {
    return compareVersions(await this.rpc.peersVersion(), FOLLOWS_REMOTE_GROUPS) >= 0;
  }

  buildAndRunInstance(
    ctx: RequestContext,
    host: string,
    args: {
      instance: InstancePayload;
      node: string;
      alternates: Selection[];
      attempt: number;
      network_info?: NetworkInfo;
      config_drive?: InstanceMetadata;
    },
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'build_and_run_instance', args);
  }

  /** A call: resolves once the guest has the NIC (or the driver refused). */
  attachInterface(ctx: RequestContext, host: string, instance: InstancePayload, vif: Vif): Promise<void> {
    return this.rpc.call(ctx, this.target(host), 'attach_interface', { instance, vif });
  }

  /** A call: resolves once the guest has released the NIC. */
  detachInterface(ctx: RequestContext, host: string, instance: InstancePayload, vif: Vif): Promise<void> {
    return this.rpc.call(ctx, this.target(host), 'detach_interface', { instance, vif });
  }

  /** Tells the guest's host its interfaces changed (security groups, rules, floating IPs). */
  networkInfoChanged(
    ctx: RequestContext,
    host: string,
    instance: InstancePayload,
    networkInfo: NetworkInfo,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'network_info_changed', { instance, network_info: networkInfo });
  }

  /** Tells a host the members of these security groups (1.12; older hosts refuse it: UnsupportedRpcVersion). */
  securityGroupMembersChanged(ctx: RequestContext, host: string, groups: GroupMembers[]): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'security_group_members_changed', { groups });
  }

  terminateInstance(ctx: RequestContext, host: string, instance: InstancePayload): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'terminate_instance', { instance });
  }

  stopInstance(ctx: RequestContext, host: string, instance: InstancePayload): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'stop_instance', { instance });
  }

  startInstance(ctx: RequestContext, host: string, instance: InstancePayload): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'start_instance', { instance });
  }

  rebootInstance(
    ctx: RequestContext,
    host: string,
    instance: InstancePayload,
    rebootType: 'SOFT' | 'HARD',
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'reboot_instance', { instance, reboot_type: rebootType });
  }

  /** pause_instance, unpause_instance, suspend_instance or resume_instance. */
  guestStateAction(
    ctx: RequestContext,
    host: string,
    action: GuestStateAction,
    instance: InstancePayload,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), `${action}_instance`, { instance });
  }

  /** createImage: the image (queued) exists; compute captures the disk and uploads it into it. */
  snapshotInstance(ctx: RequestContext, host: string, instance: InstancePayload, imageId: string): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'snapshot_instance', { instance, image_id: imageId });
  }

  /**
   * Disk snapshots (a Stratus extension): create_disk_snapshot, delete_disk_snapshot or
   * revert_disk_snapshot. The API recorded the snapshot and set the task; compute does it and reports.
   */
  diskSnapshotAction(
    ctx: RequestContext,
    host: string,
    action: DiskSnapshotAction,
    instance: InstancePayload,
    snapshotId: string,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), `${action}_disk_snapshot`, { instance, snapshot_id: snapshotId });
  }

  backupInstance(
    ctx: RequestContext,
    host: string,
    instance: InstancePayload,
    backup: { imageId: string; backupType: string; rotation: number },
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'backup_instance', {
      instance,
      image_id: backup.imageId,
      backup_type: backup.backupType,
      rotation: backup.rotation,
    });
  }

  shelveInstance(ctx: RequestContext, host: string, instance: InstancePayload, imageId: string): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'shelve_instance', { instance, image_id: imageId });
  }

  shelveOffloadInstance(ctx: RequestContext, host: string, instance: InstancePayload): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'shelve_offload_instance', { instance });
  }

  unshelveInstance(
    ctx: RequestContext,
    host: string,
    instance: InstancePayload,
    imageId: string | null,
    node: string | null,
    networkInfo?: NetworkInfo,
    configDrive?: InstanceMetadata,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'unshelve_instance', {
      instance,
      image_id: imageId,
      node,
      ...(networkInfo ? { network_info: networkInfo } : {}),
      ...(configDrive ? { config_drive: configDrive } : {}),
    });
  }

  /** Asks `host` to fetch the images into its image cache (aggregate image pre-caching). */
  cacheImages(ctx: RequestContext, host: string, imageIds: readonly string[]): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'cache_images', { image_ids: [...imageIds] });
  }

  /** A step of a resize or cold migration, cast to the host whose turn it is. */
  moveStep(
    ctx: RequestContext,
    host: string,
    step: 'prep_resize' | 'resize_instance' | 'confirm_resize' | 'revert_resize',
    instance: InstancePayload,
    move: Move,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), step, { instance, move });
  }

  /** prep_resize with the hosts a refusal may be rescheduled to (returned in the host's report). */
  prepResize(ctx: RequestContext, host: string, instance: InstancePayload, move: Move, alternates: Selection[]) {
    return this.rpc.cast(ctx, this.target(host), 'prep_resize', { instance, move, alternates });
  }

  /**
   * finish_resize or finish_revert_resize: the guest runs on `host` with these interfaces; a finish_resize
   * fetches its disks from `diskSource` when the source handed them over.
   */
  moveFinish(
    ctx: RequestContext,
    host: string,
    step: 'finish_resize' | 'finish_revert_resize',
    instance: InstancePayload,
    move: Move,
    networkInfo: NetworkInfo,
    powerOn: boolean,
    diskSource?: DiskSource,
  ): Promise<void> {
    const args = { instance, move, network_info: networkInfo, power_on: powerOn };
    if (step === 'finish_revert_resize') return this.rpc.cast(ctx, this.target(host), step, args);
    return this.rpc.cast(ctx, this.target(host), step, diskSource ? { ...args, disk_source: diskSource } : args);
  }

  /** A live migration step: the two checks are calls (answered when done), the others casts. */
  liveStep(ctx: RequestContext, host: string, step: LiveStepName, instance: InstancePayload, move: LiveMove) {
    if (step === 'check_can_live_migrate_destination' || step === 'check_can_live_migrate_source') {
      return this.rpc.call(ctx, this.target(host), step, { instance, move });
    }
    return this.rpc.cast(ctx, this.target(host), step, { instance, move });
  }

  /** pre_live_migration or post_live_migration_at_destination: the destination's steps with the NICs. */
  liveStepWithNics(
    ctx: RequestContext,
    host: string,
    step: 'pre_live_migration' | 'post_live_migration_at_destination',
    instance: InstancePayload,
    move: LiveMove,
    networkInfo: NetworkInfo,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), step, { instance, move, network_info: networkInfo });
  }

  /** Source: stream the guest to what the destination prepared. */
  liveMigration(
    ctx: RequestContext,
    host: string,
    instance: InstancePayload,
    move: LiveMove,
    migrateData: LiveMigrateData,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'live_migration', { instance, move, migrate_data: migrateData });
  }

  /** Source: abort (live_migration_abort) or force complete the live migration under way. */
  liveMigrationControl(
    ctx: RequestContext,
    host: string,
    action: 'live_migration_abort' | 'live_migration_force_complete',
    instance: InstancePayload,
    migrationUuid: string,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), action, { instance, migration_uuid: migrationUuid });
  }

  /** A call: the answer is the console text. */
  getConsoleOutput(
    ctx: RequestContext,
    host: string,
    instance: InstancePayload,
    tailLength: number | null,
  ): Promise<string> {
    return this.rpc.call(ctx, this.target(host), 'get_console_output', { instance, tail_length: tailLength });
  }

  /** Deferred delete (reclaim_instance_interval > 0): soft_delete_instance or restore_instance. */
  deferredDeleteAction(
    ctx: RequestContext,
    host: string,
    action: 'soft_delete' | 'restore',
    instance: InstancePayload,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), `${action}_instance`, { instance });
  }

  /** A call: answers once the driver set the password, or raises its refusal. */
  setAdminPassword(ctx: RequestContext, host: string, instance: InstancePayload, newPass: string): Promise<void> {
    return this.rpc.call(ctx, this.target(host), 'set_admin_password', { instance, new_pass: newPass });
  }

  /** rebuild: the instance already holds the new image; compute recreates the guest from it. */
  rebuildInstance(ctx: RequestContext, host: string, args: RebuildArgs): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'rebuild_instance', args);
  }

  /** A call: the answer is where the console proxy reaches the guest's VNC server. */
  getVncConsole(ctx: RequestContext, host: string, instance: InstancePayload): Promise<{ host: string; port: number }> {
    return this.rpc.call(ctx, this.target(host), 'get_vnc_console', { instance });
  }

  /** rescue: the API set task rescuing; `rescueImageRef` null means the instance's own image. */
  rescueInstance(
    ctx: RequestContext,
    host: string,
    instance: InstancePayload,
    rescuePassword: string,
    rescueImageRef: string | null,
  ): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'rescue_instance', {
      instance,
      rescue_password: rescuePassword,
      rescue_image_ref: rescueImageRef,
    });
  }

  unrescueInstance(ctx: RequestContext, host: string, instance: InstancePayload): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'unrescue_instance', { instance });
  }

  triggerCrashDump(ctx: RequestContext, host: string, instance: InstancePayload): Promise<void> {
    return this.rpc.cast(ctx, this.target(host), 'trigger_crash_dump', { instance });
  }

  /** A call: the running guest's diagnostics. */
  getDiagnostics(ctx: RequestContext, host: string, instance: InstancePayload): Promise<GuestDiagnostics> {
    return this.rpc.call(ctx, this.target(host), 'get_diagnostics', { instance });
  }
}
