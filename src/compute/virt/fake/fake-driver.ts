/**
 * The fake driver: guests live in memory. It simulates as many nodes as configured (each a compute node
 * with its own inventory, for scale tests) with simulated storage pools, spawn and power delays, and random spawn failures to exercise
 * rescheduling. Guests are lost when the process exits, as a host reboot would lose them.
 */
import { Readable } from 'node:stream';
import {
  BuildFailed,
  ConsoleTypeUnavailable,
  InstanceInvalidState,
  MigrationError,
  NotFound,
  ResizeError,
} from '../../../common/errors.ts';
import { PowerState } from '../../../wire/messages/instance-states.ts';
import { DiskSnapshotLinkShape } from '../../../wire/messages/disk-snapshot-link.ts';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import type { NetworkInfo, Vif } from '../../../wire/messages/network-info.ts';
import { powerStateName, type GuestDiagnostics } from '../../../wire/messages/guest-diagnostics.ts';
import type { StoragePoolResources } from '../../storage-pools.ts';
import type {
  ConfigDriveFiles,
  DiskSnapshotLink,
  GuestInfo,
  GuestMoves,
  NodeResources,
  RebootType,
  RebuildOptions,
  SnapshotData,
  VirtDriver,
  VncConsole,
} from '../driver.ts';
import { fakeGuestSizes, FakeLiveMigration, LIVE_FAILURE_STEPS } from './fake-live-migration.ts';

export interface FakeDriverOptions {
  nodeCount: number;
  vcpus: number;
  memoryMb: number;
  /** Simulated pools of every node, one per tier. */
  storagePools: readonly StoragePoolResources[];
  spawnDelayMs: number;
  powerDelayMs: number;
  spawnFailureRate: number;
  /** Share of each move step that fails here (before it changes anything), for failure tests. */
  moveFailureRates?: MoveFailureRates;
  /** How long a live migration's transfer takes (ms): abort and force complete act within it. */
  liveMigrationMs?: number;
}

/** The steps failures can be injected at: a resize's or cold migration's, then a live migration's. */
export const MOVE_FAILURE_STEPS = ['prep', 'migrate', 'finish', ...LIVE_FAILURE_STEPS] as const;
export type MoveFailureStep = (typeof MOVE_FAILURE_STEPS)[number];
export type MoveFailureRates = Partial<Record<MoveFailureStep, number>>;

interface FakeGuest {
  uuid: string;
  nodename: string;
  powerState: number;
  /** The disk snapshot chain, oldest link first: ids only, there is no disk. */
  diskSnapshots: string[];
  vcpus: number;
  memoryMb: number;
  /** Root, ephemeral and swap disks the flavor gives it. */
  disks: number;
  /** The root disk's size (GiB): a resize may grow it, never shrink it. */
  rootGb: number;
  /**
   * While a move of the guest waits for confirmation on its source: what it was before (for a revert),
   * and whether the guest itself went to another host (`away`) or stayed (a resize on the same host).
   */
  beforeMove?: { vcpus: number; memoryMb: number; disks: number; rootGb: number; away: boolean };
  /** When it last booted (Date.now()), and how many times it has: its diagnostics derive from them. */
  bootedAt: number;
  boots: number;
  /** The image the guest is rescued with, while it is. */
  rescueImageRef: string | null;
  /** Non-maskable interrupts injected so far (trigger_crash_dump). */
  nmis: number;
  /** Its interfaces, in the guest's order, as the calls that give them left them. */
  interfaces: Vif[];
  /** The admin password changePassword last set (as a guest agent would set it inside the guest). */
  adminPassword?: string;
  /** Its config drive's files, as the last spawn or rebuild gave them; absent: it has none. */
  configDrive?: ConfigDriveFiles;
}

/** A simulated guest reads this many 4 KiB blocks per boot: figures for its disk diagnostics. */
const BLOCKS_READ_PER_BOOT = 256;
/** A simulated guest keeps its vCPUs this busy (percent): figures for its CPU diagnostics. */
const CPU_BUSY_PERCENT = 2;

export class FakeDriver implements VirtDriver {
  private readonly guests = new Map<string, FakeGuest>();
  private nodeList: NodeResources[] = [];

  constructor(private readonly options: FakeDriverOptions) {}

  async init(host: string): Promise<void> {
    const { nodeCount } = this.options;
    this.nodeList = Array.from({ length: nodeCount }, (_, i) => ({
      nodename: nodeCount === 1 ? host : `${host}-node${i}`,
      hypervisorType: 'fake',
      hypervisorVersion: 1000,
      cpuInfo: JSON.stringify({
        arch: 'x86_64',
        model: 'fake',
        vendor: 'Stratus',
        topology: { sockets: 1, cores: this.options.vcpus, threads: 1 },
      }),
      vcpus: this.options.vcpus,
      memoryMb: this.options.memoryMb,
      localGb: this.options.storagePools.reduce((sum, pool) => sum + pool.totalGb, 0),
      storagePools: this.options.storagePools,
      hostIp: '127.0.0.1',
      // As Nova's fake driver: x86_64 guests of the `fake` hypervisor type.
      supportedInstances: [['x86_64', 'fake', 'hvm']],
    }));
  }

  nodes(): NodeResources[] {
    return this.nodeList;
  }

  async spawn(
    instance: InstancePayload,
    node: string,
    networkInfo: NetworkInfo = [],
    configDrive?: ConfigDriveFiles,
  ): Promise<void> {
    if (!this.nodeList.some((n) => n.nodename === node)) throw new BuildFailed(`node ${node} is not on this host`);
    if (this.guests.has(instance.uuid)) throw new BuildFailed(`guest ${instance.uuid} already exists`);
    // What a real driver meets when the scheduler sent a disk to a host without its tier's pool.
    if (!this.options.storagePools.some((p) => p.tier === instance.storage_tier)) {
      throw new BuildFailed(`node ${node} has no ${instance.storage_tier} storage pool for ${instance.uuid}`);
    }
    await delay(this.options.spawnDelayMs);
    if (this.options.spawnFailureRate > 0 && Math.random() < this.options.spawnFailureRate) {
      throw new BuildFailed(`fake driver: injected spawn failure for ${instance.uuid} on ${node}`);
    }
    this.guests.set(instance.uuid, {
      uuid: instance.uuid,
      nodename: node,
      powerState: PowerState.RUNNING,
      diskSnapshots: [],
      ...flavorShape(instance),
      bootedAt: Date.now(),
      boots: 1,
      rescueImageRef: null,
      nmis: 0,
      interfaces: [...networkInfo],
      ...(configDrive ? { configDrive } : {}),
    });
  }

  async destroy(uuid: string): Promise<void> {
    await delay(this.options.powerDelayMs);
    this.guests.delete(uuid);
  }

  async powerOff(uuid: string): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    guest.powerState = PowerState.SHUTDOWN;
  }

  async powerOn(uuid: string, networkInfo?: NetworkInfo): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    if (guest.powerState !== PowerState.RUNNING) this.boot(guest, networkInfo);
  }

  async reboot(uuid: string, _type: RebootType, networkInfo?: NetworkInfo): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    this.boot(guest, networkInfo);
  }

  /** A boot given a networkInfo gets its interfaces; one without keeps those the guest has. */
  private boot(guest: FakeGuest, networkInfo?: NetworkInfo): void {
    if (networkInfo) guest.interfaces = [...networkInfo];
    guest.powerState = PowerState.RUNNING;
    guest.bootedAt = Date.now();
    guest.boots += 1;
  }

  /** Stops the guest and boots it again from the rescue image; its own disk becomes the second. */
  async rescue(uuid: string, imageRef: string, _timeoutSec?: number, networkInfo?: NetworkInfo): Promise<void> {
    const guest = this.guest(uuid);
    if (guest.rescueImageRef !== null && guest.powerState === PowerState.RUNNING) return;
    // A repeat (after a restart) keeps the image the rescue began with.
    guest.rescueImageRef ??= imageRef;
    guest.powerState = PowerState.SHUTDOWN;
    await delay(this.options.powerDelayMs);
    this.boot(guest, networkInfo);
  }

  async unrescue(uuid: string): Promise<void> {
    const guest = this.guest(uuid);
    if (guest.rescueImageRef === null && guest.powerState === PowerState.RUNNING) return;
    guest.powerState = PowerState.SHUTDOWN;
    guest.rescueImageRef = null;
    await delay(this.options.powerDelayMs);
    this.boot(guest);
  }

  isRescued(uuid: string): boolean {
    return (this.guests.get(uuid)?.rescueImageRef ?? null) !== null;
  }

  /** The image a rescued guest booted from (null when it is not rescued): what tests check. */
  rescueImageOf(uuid: string): string | null {
    return this.guest(uuid).rescueImageRef;
  }

  /** Records the interrupt; a guest that does not run cannot take one, as a hypervisor refuses it. */
  async triggerCrashDump(uuid: string): Promise<void> {
    const guest = this.guest(uuid);
    if (guest.powerState !== PowerState.RUNNING) {
      throw new InstanceInvalidState(`Instance ${uuid} is not running.`);
    }
    guest.nmis += 1;
  }

  /** How many NMIs the guest has been sent. */
  nmisOf(uuid: string): number {
    return this.guest(uuid).nmis;
  }

  /**
   * Figures derived from the simulated guest: its flavor's CPUs, memory and disks (a rescued guest has
   * two: the rescue disk and its own), uptime since its last boot, CPU time at a steady small load, and
   * a fixed amount read per boot from its first disk.
   */
  async getDiagnostics(uuid: string): Promise<GuestDiagnostics> {
    const guest = this.guest(uuid);
    const upMs = Math.max(0, Date.now() - guest.bootedAt);
    const disks = guest.rescueImageRef !== null ? 2 : guest.disks;
    const blocks = guest.boots * BLOCKS_READ_PER_BOOT;
    return {
      state: powerStateName(guest.powerState),
      driver: 'libvirt',
      hypervisor: 'fake',
      hypervisor_os: 'fake',
      uptime: Math.floor(upMs / 1000),
      config_drive: guest.configDrive !== undefined,
      memory_details: { maximum: guest.memoryMb, used: guest.memoryMb },
      cpu_details: Array.from({ length: guest.vcpus }, (_, id) => ({
        id,
        time: Math.round(upMs * 1e6 * (CPU_BUSY_PERCENT / 100)),
        utilisation: CPU_BUSY_PERCENT,
      })),
      nic_details: [],
      disk_details: Array.from({ length: disks }, (_, i) => ({
        device: `vd${String.fromCharCode(97 + i)}`,
        read_bytes: i === 0 ? blocks * 4096 : 0,
        read_requests: i === 0 ? blocks : 0,
        write_bytes: 0,
        write_requests: 0,
        errors_count: 0,
      })),
    };
  }

  async pause(uuid: string): Promise<void> {
    await this.setPower(uuid, PowerState.RUNNING, PowerState.PAUSED);
  }

  async unpause(uuid: string): Promise<void> {
    await this.setPower(uuid, PowerState.PAUSED, PowerState.RUNNING);
  }

  async suspend(uuid: string): Promise<void> {
    await this.setPower(uuid, PowerState.RUNNING, PowerState.SUSPENDED);
  }

  async resume(uuid: string): Promise<void> {
    await this.setPower(uuid, PowerState.SUSPENDED, PowerState.RUNNING);
  }

  /** Moves the guest from power state `from` to `to`, refusing from any other state as a hypervisor would. */
  private async setPower(uuid: string, from: number, to: number): Promise<void> {
    const guest = this.guest(uuid);
    if (guest.powerState !== from) {
      throw new InstanceInvalidState(`guest ${uuid} is in power state ${guest.powerState}, not ${from}`);
    }
    await delay(this.options.powerDelayMs);
    guest.powerState = to;
  }

  /** Moves between the fake hosts of one process: the guest is set up anew on the destination in memory. */
  readonly moves: GuestMoves = {
    checkCanReceive: async (instance, node) => this.injectMoveFailure('prep', instance.uuid, node),
    migrateDiskAndPowerOff: async (instance) => {
      const guest = this.guest(instance.uuid);
      this.injectMoveFailure('migrate', instance.uuid, guest.nodename);
      // As libvirt's driver: a disk is never shrunk (its filesystem would be cut).
      if (instance.flavor.root_gb < guest.rootGb) {
        throw new ResizeError(`Unable to resize disk down: ${guest.rootGb} GiB to ${instance.flavor.root_gb} GiB.`);
      }
      await delay(this.options.powerDelayMs);
      guest.powerState = PowerState.SHUTDOWN;
      const { vcpus, memoryMb, disks, rootGb } = guest;
      // `away` until finishMigration on this same driver says the guest stayed here.
      guest.beforeMove = { vcpus, memoryMb, disks, rootGb, away: true };
      // Fake hosts share a process: there are no disks to fetch.
      return null;
    },
    finishMigration: async (instance, node, networkInfo, powerOn) => {
      if (!this.nodeList.some((n) => n.nodename === node)) throw new ResizeError(`node ${node} is not on this host`);
      this.injectMoveFailure('finish', instance.uuid, node);
      const stayed = this.guests.get(instance.uuid);
      await delay(this.options.spawnDelayMs);
      if (stayed?.beforeMove) {
        // Source and destination are this host: the guest takes the new flavor in place.
        stayed.beforeMove.away = false;
        Object.assign(stayed, flavorShape(instance), { nodename: node });
        stayed.interfaces = [...networkInfo];
        if (powerOn) this.boot(stayed, networkInfo);
        return;
      }
      if (stayed) throw new ResizeError(`guest ${instance.uuid} already exists on this host`);
      this.guests.set(instance.uuid, {
        uuid: instance.uuid,
        nodename: node,
        powerState: powerOn ? PowerState.RUNNING : PowerState.SHUTDOWN,
        diskSnapshots: [],
        ...flavorShape(instance),
        bootedAt: Date.now(),
        boots: powerOn ? 1 : 0,
        rescueImageRef: null,
        nmis: 0,
        interfaces: [...networkInfo],
      });
    },
    confirmMigration: async (uuid) => {
      const guest = this.guests.get(uuid);
      if (!guest?.beforeMove) return;
      if (guest.beforeMove.away) this.guests.delete(uuid);
      else delete guest.beforeMove;
    },
    finishRevertMigration: async (instance, networkInfo, powerOn) => {
      const guest = this.guest(instance.uuid);
      if (guest.beforeMove) {
        const { vcpus, memoryMb, disks, rootGb } = guest.beforeMove;
        Object.assign(guest, { vcpus, memoryMb, disks, rootGb });
        delete guest.beforeMove;
      }
      guest.interfaces = [...networkInfo];
      await delay(this.options.powerDelayMs);
      if (powerOn && guest.powerState !== PowerState.RUNNING) this.boot(guest, networkInfo);
    },
  };

  private injectMoveFailure(step: MoveFailureStep, uuid: string, node: string): void {
    const rate = this.options.moveFailureRates?.[step] ?? 0;
    if (rate > 0 && Math.random() < rate) {
      const Failure = step.startsWith('live_') ? MigrationError : ResizeError;
      throw new Failure(`fake driver: injected ${step} failure for ${uuid} on ${node}`);
    }
  }

  /** Live migration between fake hosts (fake-live-migration.ts). */
  readonly liveMoves = new FakeLiveMigration({
    host: () => this.nodeList[0]?.nodename ?? '',
    hasNode: (node) => this.nodeList.some((n) => n.nodename === node),
    powerState: (uuid) => this.guests.get(uuid)?.powerState ?? null,
    isRescued: (uuid) => this.guests.get(uuid)?.rescueImageRef != null,
    setPowerState: (uuid, power) => {
      this.guest(uuid).powerState = power;
    },
    addIncoming: (instance, node, networkInfo) => {
      this.guests.set(instance.uuid, {
        uuid: instance.uuid,
        nodename: node,
        powerState: PowerState.PAUSED,
        diskSnapshots: [],
        ...flavorShape(instance),
        bootedAt: Date.now(),
        boots: 1,
        rescueImageRef: null,
        nmis: 0,
        interfaces: [...networkInfo],
      });
    },
    sizes: (uuid) => {
      const guest = this.guest(uuid);
      return fakeGuestSizes(guest.memoryMb, guest.rootGb);
    },
    transferMs: () => this.options.liveMigrationMs ?? 0,
    injectFailure: (step, uuid) => this.injectMoveFailure(step, uuid, this.guests.get(uuid)?.nodename ?? ''),
  });

  /** The guest's vCPUs, memory and root disk (for tests: what the guest would see after a resize). */
  sizeOf(uuid: string): { vcpus: number; memoryMb: number; rootGb: number } {
    const { vcpus, memoryMb, rootGb } = this.guest(uuid);
    return { vcpus, memoryMb, rootGb };
  }

  listGuests(): GuestInfo[] {
    return [...this.guests.values()].map((g) => ({ uuid: g.uuid, nodename: g.nodename, powerState: g.powerState }));
  }

  powerState(uuid: string): number {
    return this.guests.get(uuid)?.powerState ?? PowerState.NOSTATE;
  }

  /**
   * A fake-driver behaviour: there is no disk, so the snapshot is a small placeholder text (disk_format
   * raw) that names the guest. It makes the createImage flow testable end to end; nothing boots from it.
   */
  async snapshot(uuid: string): Promise<SnapshotData> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    const bytes = Buffer.from(`Stratus fake driver snapshot of guest ${guest.uuid}\n`);
    return {
      diskFormat: 'raw',
      containerFormat: 'bare',
      size: bytes.length,
      open: () => Readable.from([bytes]),
      discard: async () => undefined,
    };
  }

  /** The chain as a list of ids; a fake link has no file, so no size. */
  async diskSnapshots(uuid: string): Promise<DiskSnapshotLink[]> {
    return this.guest(uuid).diskSnapshots.map((id) => DiskSnapshotLinkShape.build({ id, size: null }));
  }

  async createDiskSnapshot(uuid: string, id: string): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    if (!guest.diskSnapshots.includes(id)) guest.diskSnapshots.push(id);
  }

  async deleteDiskSnapshot(uuid: string, id: string): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    guest.diskSnapshots = guest.diskSnapshots.filter((link) => link !== id);
  }

  /** Drops the later links; the guest keeps its power state, as the qemu driver leaves it. */
  async revertDiskSnapshot(uuid: string, id: string): Promise<void> {
    const guest = this.guest(uuid);
    const at = guest.diskSnapshots.indexOf(id);
    if (at < 0) throw new NotFound(`disk snapshot ${id} is not in the chain of guest ${uuid}`);
    await delay(this.options.powerDelayMs);
    guest.diskSnapshots = guest.diskSnapshots.slice(0, at + 1);
  }

  /** The guest's disk starts over: off, its snapshot links gone, then booted again unless asked not to. */
  async rebuild(instance: InstancePayload, options: RebuildOptions): Promise<void> {
    const guest = this.guest(instance.uuid);
    if (!this.options.storagePools.some((p) => p.tier === instance.storage_tier)) {
      throw new BuildFailed(`no ${instance.storage_tier} storage pool for ${instance.uuid}`);
    }
    await delay(this.options.powerDelayMs);
    guest.powerState = PowerState.SHUTDOWN;
    guest.diskSnapshots = [];
    await options.disksReady();
    await delay(this.options.spawnDelayMs);
    if (options.networkInfo) guest.interfaces = [...options.networkInfo];
    if (options.configDrive) guest.configDrive = options.configDrive;
    else delete guest.configDrive;
    if (options.start) guest.powerState = PowerState.RUNNING;
  }

  /** Records the interface (a port it has already is left as it is); a suspended guest refuses, as qemu's does. */
  async attachInterface(uuid: string, vif: Vif): Promise<void> {
    const guest = this.guest(uuid);
    if (guest.interfaces.some((i) => i.id === vif.id)) return;
    this.refuseWhileSuspended(guest, `attach port ${vif.id} to`);
    await delay(this.options.powerDelayMs);
    guest.interfaces = [...guest.interfaces, vif];
  }

  async detachInterface(uuid: string, vif: Vif): Promise<void> {
    const guest = this.guest(uuid);
    if (!guest.interfaces.some((i) => i.id === vif.id)) return;
    this.refuseWhileSuspended(guest, `detach port ${vif.id} from`);
    await delay(this.options.powerDelayMs);
    guest.interfaces = guest.interfaces.filter((i) => i.id !== vif.id);
  }

  private refuseWhileSuspended(guest: FakeGuest, what: string): void {
    if (guest.powerState === PowerState.SUSPENDED) {
      throw new InstanceInvalidState(`guest ${guest.uuid} is suspended; cannot ${what} it`);
    }
  }

  /** The guest's interfaces, in order (for tests: what the guest would see as its NICs). */
  interfacesOf(uuid: string): Vif[] {
    return [...this.guest(uuid).interfaces];
  }

  async getConsoleOutput(uuid: string): Promise<string> {
    const guest = this.guest(uuid);
    return `fake console of ${guest.uuid}\nFAKE CONSOLE OUTPUT\n`;
  }

  /** Simulated guests have no screen: like a hypervisor without VNC, the console type is unavailable. */
  async getVncConsole(uuid: string): Promise<VncConsole> {
    this.guest(uuid);
    throw new ConsoleTypeUnavailable('Unavailable console type vnc.');
  }

  async setAdminPassword(uuid: string, password: string): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    guest.adminPassword = password;
  }

  /** The password changePassword set in the guest (for tests: what a login inside the guest would use). */
  adminPasswordOf(uuid: string): string | undefined {
    return this.guests.get(uuid)?.adminPassword;
  }

  /** The files of the guest's config drive (for tests: what the guest would read on it); none without one. */
  configDriveOf(uuid: string): ConfigDriveFiles | undefined {
    return this.guests.get(uuid)?.configDrive;
  }

  /** Images "cached" here, in the order they were asked for: the fake driver keeps no files. */
  readonly cachedImages: string[] = [];

  async cacheImage(imageId: string): Promise<boolean> {
    if (this.cachedImages.includes(imageId)) return false;
    this.cachedImages.push(imageId);
    return true;
  }

  async manageImageCache(): Promise<void> {}

  async shutdown(): Promise<void> {}

  private guest(uuid: string): FakeGuest {
    const guest = this.guests.get(uuid);
    if (!guest) throw new NotFound(`guest ${uuid} is not on this host`);
    return guest;
  }
}

/** What a flavor makes of a fake guest. */
function flavorShape(instance: InstancePayload): Pick<FakeGuest, 'vcpus' | 'memoryMb' | 'disks' | 'rootGb'> {
  const f = instance.flavor;
  return {
    vcpus: f.vcpus,
    memoryMb: f.memory_mb,
    disks: 1 + (f.ephemeral_gb > 0 ? 1 : 0) + (f.swap > 0 ? 1 : 0),
    rootGb: f.root_gb,
  };
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
