/**
 * The virt driver contract (Nova's virt/driver.py): everything the compute manager asks of a hypervisor.
 * Nothing outside virt/ knows which driver runs. Every method is idempotent where the manager may repeat
 * it after a crash (destroy of a missing guest succeeds; spawn of an existing guest fails).
 */
import type { Readable } from 'node:stream';
import type { DiskSnapshotLink } from '../../wire/messages/disk-snapshot-link.ts';
import type { DiskSource } from '../../wire/messages/disk-source.ts';
import type { GuestDiagnostics } from '../../wire/messages/guest-diagnostics.ts';
import type { InstancePayload } from '../../wire/messages/instance-payload.ts';
import type { LiveMigrateData, LiveMigrationProgress } from '../../wire/messages/live-migrate-data.ts';
import type { NetworkInfo, Vif } from '../../wire/messages/network-info.ts';
import type { StoragePoolResources } from '../storage-pools.ts';

/** Part of the driver contract; its shape is shared with the conductor's RPC (disk-snapshot-link.ts). */
export type { DiskSnapshotLink };

/**
 * A kind of guest a node can run: [architecture, hypervisor type, vm mode], in Nova's canonical names
 * (`x86_64`, `qemu`/`kvm`/`fake`, `hvm`). ImagePropertiesFilter matches images against these.
 */
export type SupportedInstance = readonly [arch: string, hvType: string, vmMode: string];

/** One hypervisor node's resources and identity, as the driver sees them. */
export interface NodeResources {
  readonly nodename: string;
  readonly hypervisorType: string;
  readonly hypervisorVersion: number;
  readonly cpuInfo: string;
  /** The host's CPUs (ids 0..vcpus-1), before the CPU sets of the configuration narrow them. */
  readonly vcpus: number;
  readonly memoryMb: number;
  /** All pools together. */
  readonly localGb: number;
  /** The storage pools, one per tier; each is a DISK_GB inventory of its own. */
  readonly storagePools: readonly StoragePoolResources[];
  readonly hostIp: string | null;
  readonly supportedInstances: readonly SupportedInstance[];
}

export interface GuestInfo {
  readonly uuid: string;
  readonly nodename: string;
  /** A PowerState value. */
  readonly powerState: number;
}

export type RebootType = 'SOFT' | 'HARD';

/**
 * A guest's power state changed by itself (it powered off, crashed, its qemu exited): Nova's virt
 * lifecycle events, on which the manager syncs that one instance at once instead of waiting for the
 * periodic sync.
 */
export interface GuestLifecycleEvent {
  readonly uuid: string;
  /** The PowerState the guest is now in. */
  readonly powerState: number;
  /** What happened, for the logs and the fault: 'shutdown', 'crashed', 'exited', ... */
  readonly reason: string;
}

/** A guest's root disk captured as a standalone image, ready to upload; `discard` removes what it holds. */
export interface SnapshotData {
  /** Glance's disk_format of the data ('qcow2' for the qemu driver). */
  readonly diskFormat: string;
  readonly containerFormat: string;
  readonly size: number;
  /** The data; called once. */
  open(): Readable;
  discard(): Promise<void>;
}

/** Where the console proxy reaches a guest's VNC server (Nova's ConsoleVNC): an address of its compute host. */
export interface VncConsole {
  readonly host: string;
  readonly port: number;
}

/**
 * A config drive's files (Nova's metadata_for_config_drive), by path relative to the volume's root
 * (openstack/latest/meta_data.json, ...). The driver writes them on a volume labelled config-2 that the
 * guest sees read-only, and removes it with the guest.
 */
export type ConfigDriveFiles = ReadonlyMap<string, Buffer>;

/** What a rebuild asks of the driver beside the instance (which carries the new image). */
export interface RebuildOptions {
  readonly preserveEphemeral: boolean;
  /** Boot the rebuilt guest; false for a server rebuilt while stopped, which stays off. */
  readonly start: boolean;
  /** How long a running guest gets to power off cleanly before it is stopped. */
  readonly shutdownTimeoutSec: number;
  /** Called once the disks are recreated, before the boot (the manager's next task states). */
  disksReady(): Promise<void>;
  /** The guest's interfaces for the rebuilt guest; absent: the ones it had. */
  readonly networkInfo?: NetworkInfo;
  /** The rebuilt guest's config drive, written afresh; absent: it has none (any old one goes). */
  readonly configDrive?: ConfigDriveFiles;
}

/**
 * Moving a guest between hosts for a resize or cold migration (Nova's virt driver methods of the same
 * names). The source runs migrateDiskAndPowerOff, the destination finishMigration; then either the
 * source's confirmMigration (the move stands) or the destination's destroy and the source's
 * finishRevertMigration (it is undone). Source and destination may be the same host (a resize with
 * `allow_resize_to_same_host`): the driver then keeps what it needs to revert beside the guest, and
 * the destination's destroy is skipped on revert.
 */
export interface GuestMoves {
  /** Destination (optional): can `node` take the guest with `instance`'s (new) flavor? Throws if not. */
  checkCanReceive?(instance: InstancePayload, node: string): Promise<void>;
  /**
   * Source: powers the guest off (clean shutdown within `timeoutSec`) and hands its disks over to
   * `destHost`, keeping its own copy until confirmation. `instance` carries the new flavor; a disk it
   * would shrink is refused (ResizeError), the guest then left as it was. Returns where the destination
   * fetches the disks from (reported to the conductor, which passes it on), or null when nothing is to
   * be fetched.
   */
  migrateDiskAndPowerOff(instance: InstancePayload, destHost: string, timeoutSec: number): Promise<DiskSource | null>;
  /**
   * Destination: the guest is set up on `node` with `instance`'s (new) flavor and these NICs, started if
   * `powerOn`; its disks fetched from `diskSource`, what the source's migrateDiskAndPowerOff returned
   * (null from drivers that hand no disks over, and on a same-host resize).
   */
  finishMigration(
    instance: InstancePayload,
    node: string,
    networkInfo: NetworkInfo,
    powerOn: boolean,
    diskSource: DiskSource | null,
  ): Promise<void>;
  /** Source: what the move left here (the old guest and its disks, or on the same host its backup) goes. */
  confirmMigration(uuid: string): Promise<void>;
  /** Source: the old guest comes back with `instance`'s (old) flavor and these NICs, started if `powerOn`. */
  finishRevertMigration(instance: InstancePayload, networkInfo: NetworkInfo, powerOn: boolean): Promise<void>;
}

/**
 * Live migration (Nova's virt driver methods of the same names): the guest keeps running while its state
 * (and, with no shared storage, its disks) is streamed from the source's driver to the destination's.
 * The destination's preLiveMigration makes the guest ready to receive and returns where to stream to;
 * the source's liveMigration streams and resolves once the guest is stopped there for good and whole at
 * the destination, whose postLiveMigrationAtDestination then resumes it. A failed or aborted
 * liveMigration leaves the guest running at the source; the destination's `destroy` removes what its
 * preLiveMigration made, and the source's `destroy` what is left there after a success.
 */
export interface GuestLiveMoves {
  /** Destination: can `node` take the guest live? Throws (MigrationError) if not. */
  checkCanLiveMigrateDestination(instance: InstancePayload, node: string): Promise<void>;
  /** Source: can the guest leave live (it runs, is not rescued, has nothing that cannot travel)? */
  checkCanLiveMigrateSource(uuid: string): Promise<void>;
  /** Destination: the guest made ready here with these NICs, waiting for its state. Leaves nothing on failure. */
  preLiveMigration(instance: InstancePayload, node: string, networkInfo: NetworkInfo): Promise<LiveMigrateData>;
  /** Source: streams the guest to `data`; rejects (the guest running here) on failure or abort. */
  liveMigration(uuid: string, data: LiveMigrateData): Promise<void>;
  /** Source: the transfer so far of the guest's running migration; null when none runs. */
  progress(uuid: string): Promise<LiveMigrationProgress | null>;
  /** Source: the running migration is cancelled; its liveMigration rejects and the guest runs on here. */
  abort(uuid: string): Promise<void>;
  /** Source: the running migration is made to converge (the guest paused until it runs at the destination). */
  forceComplete(uuid: string): Promise<void>;
  /** Destination: the migrated guest taken over here, running (`resume`) or kept paused as it was. */
  postLiveMigrationAtDestination(uuid: string, resume: boolean): Promise<void>;
}

/*
 * NetworkInfo arguments: the guest's interfaces (one NIC per VIF, in the guest's order). A call that starts
 * the guest with one gives the guest exactly those NICs from then on; a call without one keeps the NICs the
 * guest has (a new guest: none). Drivers record a guest's NICs, so starts that come from elsewhere (a
 * compute restart, resume, a revert) keep them too.
 */
export interface VirtDriver {
  /** Prepares the driver on this host; runs once before anything else. */
  init(host: string): Promise<void>;
  /** The nodes this host exposes (one for a hypervisor, many for the fake driver's scale tests). */
  nodes(): NodeResources[];
  /**
   * Creates and starts the guest, with a config drive of `configDrive`'s files if given; resolves once it
   * runs. Throws on failure, leaving nothing behind.
   */
  spawn(
    instance: InstancePayload,
    node: string,
    networkInfo?: NetworkInfo,
    configDrive?: ConfigDriveFiles,
  ): Promise<void>;
  /** Stops and removes the guest and its disks; succeeds if the guest does not exist. */
  destroy(uuid: string): Promise<void>;
  /** Stops the guest, cleanly within `timeoutSec`, then forcibly. */
  powerOff(uuid: string, timeoutSec: number): Promise<void>;
  powerOn(uuid: string, networkInfo?: NetworkInfo): Promise<void>;
  /** A hard reboot starts the guest afresh: with a networkInfo that differs, it gets those NICs. */
  reboot(uuid: string, type: RebootType, networkInfo?: NetworkInfo): Promise<void>;
  /** Freezes the guest's CPUs; memory stays where it is. */
  pause(uuid: string): Promise<void>;
  unpause(uuid: string): Promise<void>;
  /** Saves the guest's state to disk and stops it (Nova's suspend: a managed save). */
  suspend(uuid: string): Promise<void>;
  /** Starts the guest again from the state suspend saved. */
  resume(uuid: string): Promise<void>;
  /**
   * Captures the guest's root disk as a standalone image (no backing file), consistent at one instant:
   * a running guest may be paused meanwhile and is running again when this returns. The guest keeps its
   * power state. Throws, holding nothing, on failure.
   */
  snapshot(uuid: string): Promise<SnapshotData>;
  /**
   * Disk snapshots (a Stratus extension): the root disk as a chain of frozen links under the disk the
   * guest writes to. `diskSnapshots` lists the links, oldest first.
   */
  diskSnapshots(uuid: string): Promise<DiskSnapshotLink[]>;
  /**
   * Freezes the root disk as it is now as link `id`; the guest goes on writing above it, without a pause.
   * Does nothing if `id` is already a link. Throws, leaving the chain as it was, on failure.
   */
  createDiskSnapshot(uuid: string, id: string): Promise<void>;
  /** Merges link `id` into its child, so the disk reads the same without it; nothing if it is no link. */
  deleteDiskSnapshot(uuid: string, id: string): Promise<void>;
  /**
   * Puts the root disk back as it was at link `id`, discarding what was written since and the later
   * links. A running guest is stopped and started again on the reverted disk; a stopped one stays off.
   */
  revertDiskSnapshot(uuid: string, id: string): Promise<void>;
  /**
   * Rescue (Nova's driver.rescue): the guest is stopped (cleanly within `shutdownTimeoutSec`), then booted
   * from a new disk made from image `imageRef`, with its own root disk attached as the second disk. The
   * guest records that it is rescued, so that a restarted service knows it. Repeating it completes a rescue
   * a crash interrupted; on a rescued guest that runs it does nothing.
   */
  rescue(uuid: string, imageRef: string, shutdownTimeoutSec: number, networkInfo?: NetworkInfo): Promise<void>;
  /**
   * Ends a rescue: the rescue guest is stopped, its disk removed, and the guest boots its own disk again.
   * On a guest that is not rescued it only makes sure the guest runs (finishing an interrupted unrescue).
   */
  unrescue(uuid: string): Promise<void>;
  /** True while the guest is rescued (or a rescue has begun and not been undone). */
  isRescued(uuid: string): boolean;
  /** Injects a non-maskable interrupt (Nova's trigger_crash_dump); InstanceInvalidState if it does not run. */
  triggerCrashDump(uuid: string): Promise<void>;
  /** A running guest's diagnostics (Nova's get_instance_diagnostics). */
  getDiagnostics(uuid: string): Promise<GuestDiagnostics>;
  /**
   * Rebuild (Nova's driver.rebuild): the guest's qemu (or whatever runs it) is stopped, its root disk
   * recreated from `instance.image_ref`, its ephemeral disk kept (`preserveEphemeral`) or recreated
   * empty, its disk snapshot links dropped; then `disksReady` is awaited and, with `start`, the guest
   * boots from the new disk. A failure leaves the guest off, on whichever disk guest.json names.
   */
  rebuild(instance: InstancePayload, options: RebuildOptions): Promise<void>;
  /**
   * Gives the guest a NIC for `vif` (Nova's attach_interface): a running or paused guest gets it hot-plugged,
   * a stopped one at its next start. Idempotent: a port the guest has already is left as it is. A suspended
   * guest refuses (InstanceInvalidState): its saved state only resumes with the NICs it was saved with.
   */
  attachInterface(uuid: string, vif: Vif): Promise<void>;
  /**
   * Removes the guest's NIC of port `vif.id` (Nova's detach_interface): a running guest is asked to release
   * it and the call waits until it has. Idempotent: a port the guest lacks is no error. A suspended guest
   * refuses, as for attach.
   */
  detachInterface(uuid: string, vif: Vif): Promise<void>;
  /** The guest's serial console output so far (the tail, if long). */
  getConsoleOutput(uuid: string): Promise<string>;
  /** The running guest's VNC server; ConsoleTypeUnavailable when it has none. */
  getVncConsole(uuid: string): Promise<VncConsole>;
  /**
   * Sets the admin (root) password inside the running guest (changePassword). Drivers that cannot reach
   * into the guest raise Nova's refusal (InstanceAgentNotEnabled).
   */
  setAdminPassword(uuid: string, password: string): Promise<void>;
  /**
   * Fetches an image into the host's image cache ahead of any build (Nova's cache_image): true when it
   * was downloaded now, false when the cache held it already. Drivers without an image cache leave it
   * out, and the request is answered as unsupported for them.
   */
  cacheImage?(imageId: string): Promise<boolean>;
  /** Periodic housekeeping of cached images (Nova's manage_image_cache); a no-op for drivers without one. */
  manageImageCache(): Promise<void>;
  /** Resize and cold migration; drivers that cannot move guests leave it out (the move is refused). */
  readonly moves?: GuestMoves;
  /** Live migration; drivers that cannot leave it out (the move is refused before anything changes). */
  readonly liveMoves?: GuestLiveMoves;
  /** The guests this host runs, whatever the database says. */
  listGuests(): GuestInfo[];
  /** One guest's power state as the hypervisor sees it; NOSTATE when this host has no such guest. */
  powerState(uuid: string): number;
  /** Calls `listener` on every lifecycle event from now on; drivers without events do not offer it. */
  onLifecycleEvent?(listener: (event: GuestLifecycleEvent) => void): void;
  /** Releases what the driver holds (connections, timers); guests keep running. */
  shutdown(): Promise<void>;
}
