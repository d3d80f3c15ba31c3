/**
 * The qemu driver: every guest is a daemonized qemu-system-x86_64 process, controlled over a QMP unix
 * socket. Its root disk is a qcow2 overlay on the host's image cache (no copy, so a build takes the same
 * time whatever the image size). A guest's files (guest.json, QMP socket, pidfile, console log) let a
 * restarted compute service find its running guests again and start stopped ones.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  BuildAborted,
  BuildFailed,
  ConsoleTypeUnavailable,
  InstanceInvalidState,
  NotFound,
} from '../../../common/errors.ts';
import { getLogger } from '../../../common/log/logger.ts';
import { PowerState } from '../../../wire/messages/instance-states.ts';
import { DiskSnapshotLinkShape } from '../../../wire/messages/disk-snapshot-link.ts';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import type { NetworkInfo, Vif } from '../../../wire/messages/network-info.ts';
import { poolSizeGb, type StoragePoolConfig } from '../../storage-pools.ts';
import type { HostCpuSets } from '../../cpu-sets.ts';
import type {
  GuestLiveMoves,
  ConfigDriveFiles,
  DiskSnapshotLink,
  GuestInfo,
  GuestLifecycleEvent,
  NodeResources,
  RebootType,
  RebuildOptions,
  SnapshotData,
  VirtDriver,
  VncConsole,
} from '../driver.ts';
import { chooseAccel, type Accel } from './accel-probe.ts';
import { isQemuAlive, powerStateOf, qemuVersion } from './qemu-process.ts';
import { buildGuest } from './guest-builder.ts';
import { DEFAULT_AGENT_TIMEOUT_MS, setGuestPassword } from './guest-agent.ts';
import { recreateGuestDisks } from './guest-rebuild.ts';
import { writeConfigDrive, type ConfigDriveOptions } from './config-drive.ts';
import {
  confineToCpuCgroup,
  detectCpuCgroup,
  NO_CPU_LIMITS,
  removeCpuCgroup,
  type CpuCgroupController,
} from './cpu-cgroup.ts';
import { applyDiskThrottle, applyPinning, chooseGuestQos } from './guest-qos.ts';
import { diskDirectory, guestPaths, type GuestPaths } from './guest-files.ts';
import { freezeActive, linkSize, mergeIntoChild } from './disk-chain.ts';
import {
  qemuArguments,
  readGuestSpec,
  shellQuote,
  writeGuestSpec,
  type GuestDisk,
  type GuestSpec,
} from './guest-spec.ts';
import type { ImageCache } from './image-cache.ts';
import { QmpClient } from './qmp-client.ts';
import { bootSpec, rescueBaseFiles, rescueGuest, unrescueGuest, type RescueHost } from './rescue.ts';
import { qemuDiagnostics } from './guest-diagnostics.ts';
import { attachNic, detachNic, guestNics, qemuCommand, sameNics, type NicGuest } from './guest-nics.ts';
import type { GuestDiagnostics } from '../../../wire/messages/guest-diagnostics.ts';
import type { QemuImg } from './qemu-img.ts';
import { QemuGuestMoves } from './guest-moves.ts';
import { QemuLiveMigration, type LiveMigrationHost } from './live-migration.ts';

const log = getLogger('compute.qemu');
const run = promisify(execFile);
/** How long a guest asked to quit (or killed) gets to disappear before we give up on it. */
const QUIT_WAIT_MS = 10_000;
/** Nova's libvirt driver returns at most this much console output. */
const MAX_CONSOLE_BYTES = 100 * 1024;

export interface QemuDriverOptions {
  instancesPath: string;
  /** Where each storage tier's disks go ([storage] pools). */
  storagePools: readonly StoragePoolConfig[];
  virtType: 'auto' | 'kvm' | 'qemu';
  binary: string;
  machineType: string;
  tcgTbSizeMb: number;
  spawnTimeoutSec: number;
  /** How long the guest agent may take to answer (guest-agent.ts); default DEFAULT_AGENT_TIMEOUT_MS. */
  agentTimeoutMs?: number;
  softRebootTimeoutSec: number;
  imageCache: ImageCache;
  qemuImg: QemuImg;
  /** Where snapshots are flattened before their upload ([qemu] snapshots_directory). */
  snapshotsDirectory: string;
  imageCacheOptions: { removeUnused: boolean; minimumAgeSec: number };
  /** The CPUs guests may use (compute/cpu-sets.ts); absent: guests are not pinned. */
  cpuSets?: HostCpuSets | null;
  /** Where the cgroup hierarchies are mounted (tests point it elsewhere); default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** Guests' VNC servers ([vnc] server_listen) and the address the console proxy reaches them at; null: none. */
  vnc?: { listen: string; proxyclientAddress: string } | null;
  /**
   * The network namespace the datapath keeps its bridges and taps in; qemu runs inside it to open them.
   * Absent or null: the host's own namespace.
   */
  networkNamespace?: string | null;
  /** The address other compute hosts reach this one at for moves ([qemu] migration_address); default 127.0.0.1. */
  migrationAddress?: string;
  /**
   * Where this host's qemu listens for a live migration's disks and state ([qemu]
   * live_migration_inbound_addr); default migrationAddress. Inside networkNamespace when there is one.
   */
  liveMigrationInboundAddress?: string;
  /** How config drives are written ([DEFAULT] config_drive_format, mkisofs_cmd); default iso9660 by genisoimage. */
  configDrive?: ConfigDriveOptions;
}

interface Guest {
  spec: GuestSpec;
  paths: GuestPaths;
  qmp: QmpClient | null;
  pid: number | null;
  powerState: number;
}

export class QemuDriver implements VirtDriver {
  private readonly guests = new Map<string, Guest>();
  /** The guest agent's socket takes one client: each guest's conversations wait for the one before. */
  private readonly agentTurns = new Map<string, Promise<void>>();
  private node: NodeResources | null = null;
  private accel: Accel = 'tcg';
  private cpuCgroup: CpuCgroupController | null = null;
  private readonly lifecycleListeners: ((event: GuestLifecycleEvent) => void)[] = [];
  /** Resize and cold migration (guest-moves.ts). */
  readonly moves: QemuGuestMoves;
  /** Live migration (live-migration.ts). */
  readonly liveMigration: QemuLiveMigration;
  /** The driver contract's live migration, by live-migration.ts; a migrated guest's leftovers go with destroy. */
  readonly liveMoves: GuestLiveMoves;

  constructor(private readonly options: QemuDriverOptions) {
    const host = this.movesHost();
    this.moves = new QemuGuestMoves(host, host.migrationAddress);
    const live = (this.liveMigration = new QemuLiveMigration(host));
    this.liveMoves = {
      checkCanLiveMigrateDestination: (instance, node) => live.checkDestination(instance, node),
      checkCanLiveMigrateSource: (uuid) => live.checkSource(uuid),
      preLiveMigration: (instance, node, networkInfo) => live.preLiveMigration(instance, node, networkInfo),
      liveMigration: (uuid, data) => live.migrate(uuid, data),
      progress: (uuid) => live.progress(uuid),
      abort: (uuid) => live.abort(uuid),
      forceComplete: (uuid) => live.forceComplete(uuid),
      postLiveMigrationAtDestination: (uuid, resume) => live.postLiveMigrationAtDestination(uuid, resume),
    };
  }

  async init(host: string): Promise<void> {
    const version = await qemuVersion(this.options.binary);
    const choice = await chooseAccel(this.options.virtType, this.options.binary);
    this.accel = choice.accel;
    log.info({ accel: choice.accel, reason: choice.reason, qemu: version.text }, `qemu driver uses ${choice.accel}`);
    await mkdir(this.options.instancesPath, { recursive: true });
    const storagePools = await Promise.all(
      this.options.storagePools.map(async (pool) => {
        await mkdir(pool.directory, { recursive: true });
        return { tier: pool.tier, totalGb: await poolSizeGb(pool) };
      }),
    );
    const cgroup = await detectCpuCgroup(this.options.cgroupRoot ?? '/sys/fs/cgroup');
    this.cpuCgroup = cgroup.controller && { ...cgroup.controller, host };
    if (cgroup.controller) log.info({ cgroup: cgroup.controller.version }, 'CPU limits through the cpu cgroup');
    else log.warn({ reason: cgroup.reason }, 'no writable cpu cgroup: flavors with quota:cpu_* run without CPU limits');
    this.node = {
      nodename: host,
      hypervisorType: 'QEMU',
      hypervisorVersion: version.number,
      cpuInfo: JSON.stringify({
        arch: 'x86_64',
        model: choice.accel === 'kvm' ? 'host' : 'qemu64',
        vendor: 'QEMU',
        topology: { sockets: 1, cores: cpus().length, threads: 1 },
        accel: choice.accel,
        // Whether quota:cpu_* flavor limits are enforced here (see cpu-cgroup.ts).
        cpu_cgroup: this.cpuCgroup?.version ?? 'none',
      }),
      vcpus: cpus().length,
      memoryMb: Math.floor(totalmem() / 1024 ** 2),
      localGb: storagePools.reduce((sum, pool) => sum + pool.totalGb, 0),
      storagePools,
      hostIp: '127.0.0.1',
      supportedInstances: [['x86_64', choice.accel === 'kvm' ? 'kvm' : 'qemu', 'hvm']],
    };
    await this.rediscoverGuests();
  }

  nodes(): NodeResources[] {
    return this.node ? [this.node] : [];
  }

  async spawn(
    instance: InstancePayload,
    node: string,
    networkInfo: NetworkInfo = [],
    configDrive?: ConfigDriveFiles,
  ): Promise<void> {
    if (node !== this.node?.nodename) throw new BuildFailed(`node ${node} is not on this host`);
    const paths = guestPaths(this.options.instancesPath, instance.uuid);
    if (this.guests.has(instance.uuid) || (await exists(paths.directory))) {
      throw new BuildFailed(`guest ${instance.uuid} already exists on this host`);
    }
    let disks: string;
    try {
      disks = diskDirectory(this.options.storagePools, instance);
    } catch (err) {
      throw new BuildFailed(`node ${node} cannot hold ${instance.uuid}: ${(err as Error).message}`);
    }
    try {
      await mkdir(paths.directory, { recursive: true });
      await mkdir(disks, { recursive: true });
      const spec = await buildGuest(instance, node, disks, this.options.imageCache, this.options.qemuImg);
      await this.writeConfigDrive(spec, paths, configDrive);
      // QoS is chosen and the guest registered in one synchronous step (no await between them):
      // concurrent builds never take the same dedicated CPUs.
      const { extra_specs: specs, vcpus } = instance.flavor;
      spec.qos = chooseGuestQos(specs, vcpus, this.options.cpuSets ?? null, this.dedicatedCpusTaken());
      spec.nics = guestNics(networkInfo);
      const guest: Guest = { spec, paths, qmp: null, pid: null, powerState: PowerState.NOSTATE };
      this.guests.set(instance.uuid, guest);
      await writeGuestSpec(paths.spec, spec);
      await this.launch(guest);
      log.info({ instance: instance.uuid, pid: guest.pid, accel: this.accel }, 'guest running');
    } catch (err) {
      await this.destroy(instance.uuid).catch(() => undefined);
      await rm(disks, { recursive: true, force: true });
      await rm(paths.directory, { recursive: true, force: true });
      if (err instanceof BuildAborted || err instanceof BuildFailed) throw err;
      throw new BuildFailed((err as Error).message);
    }
  }

  /**
   * Starts the guest's qemu and waits until QMP says it runs; with `incoming`, from a state suspend saved.
   * A boot without it discards any saved state (a hard reboot of a suspended guest starts afresh).
   */
  private async launch(guest: Guest, incoming: string | null = null): Promise<void> {
    const { paths } = guest;
    await rm(paths.qmpSocket, { force: true });
    await rm(paths.agentSocket, { force: true });
    await rm(paths.pidfile, { force: true });
    if (!incoming) await rm(paths.savedState, { force: true });
    const machine = {
      accel: this.accel,
      machineType: this.options.machineType,
      tbSizeMb: this.options.tcgTbSizeMb,
      vncListen: this.options.vnc?.listen ?? null,
    };
    const args = qemuArguments(bootSpec(guest.spec), paths, machine, incoming);
    const command = qemuCommand(this.options.binary, args, this.options.networkNamespace ?? null);
    try {
      // With -daemonize, qemu returns once the guest is set up (or has failed to be).
      await run(command.file, command.args, { timeout: this.options.spawnTimeoutSec * 1000 });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new BuildFailed(`qemu could not start guest ${guest.spec.uuid}: ${(e.stderr || e.message).trim()}`);
    }
    guest.pid = Number((await readFile(paths.pidfile, 'utf8')).trim());
    await this.attach(guest);
    const status = await guest.qmp!.execute('query-status', {});
    guest.powerState = powerStateOf(status.status);
    await this.applyQos(guest);
  }

  /**
   * The guest's disk and CPU limits and pinning, on each start of its qemu. Every guest goes into its
   * cgroup under `stratus`, limits or not: the guests of the host then weigh together as one process
   * against the host's own (as libvirt's machine.slice does), so booting guests cannot starve the compute
   * service and the qemu processes it is starting (a qemu starts outside the group and joins it once it
   * runs).
   */
  private async applyQos(guest: Guest): Promise<void> {
    const { qos, uuid, disks, vcpus } = guest.spec;
    if (guest.pid === null) return;
    if (qos?.diskThrottle) await applyDiskThrottle(await this.qmp(guest), disks[0]!.path, qos.diskThrottle);
    if (qos?.pinning) await applyPinning(await this.qmp(guest), guest.pid, qos.pinning);
    if (this.cpuCgroup) {
      await confineToCpuCgroup(this.cpuCgroup, uuid, guest.pid, qos?.cpuQuota ?? NO_CPU_LIMITS, vcpus);
    } else if (qos?.cpuQuota) {
      log.debug({ instance: uuid }, 'no cpu cgroup on this host; the guest runs without its CPU limits');
    }
  }

  /** Dedicated CPUs the guests of this host (but `except`) hold (a stopped guest keeps its CPUs, as in Nova). */
  private dedicatedCpusTaken(except?: string): Set<number> {
    return new Set(
      [...this.guests.values()].flatMap((g) =>
        g.spec.qos?.pinning?.policy === 'dedicated' && g.spec.uuid !== except ? g.spec.qos.pinning.cpus : [],
      ),
    );
  }

  /** What guest-moves.ts and live-migration.ts need of the driver. */
  private movesHost(): LiveMigrationHost {
    const o = this.options;
    return {
      migrationAddress: o.migrationAddress ?? '127.0.0.1',
      inbound: {
        address: o.liveMigrationInboundAddress ?? o.migrationAddress ?? '127.0.0.1',
        inNamespace: !!o.networkNamespace,
      },
      startIncoming: (uuid) => this.launch(this.guest(uuid), 'live'),
      qmp: (uuid) => this.qmp(this.guest(uuid)),
      markRunning: (uuid, paused) => {
        this.guest(uuid).powerState = paused ? PowerState.PAUSED : PowerState.RUNNING;
      },
      host: () => this.node?.nodename ?? '',
      instancesPath: o.instancesPath,
      storagePools: o.storagePools,
      imageCache: o.imageCache,
      qemuImg: o.qemuImg,
      has: (uuid) => this.guests.has(uuid),
      spec: (uuid) => this.guest(uuid).spec,
      save: async (spec) => {
        const paths = guestPaths(o.instancesPath, spec.uuid);
        const guest = this.guests.get(spec.uuid);
        if (guest) guest.spec = spec;
        else this.guests.set(spec.uuid, { spec, paths, qmp: null, pid: null, powerState: PowerState.SHUTDOWN });
        await writeGuestSpec(paths.spec, spec);
      },
      isRunning: (uuid) => this.isRunning(this.guest(uuid)),
      powerOff: (uuid, timeoutSec) => this.powerOff(uuid, timeoutSec),
      stop: (uuid) => this.stopProcess(this.guest(uuid)),
      start: (uuid) => this.launch(this.guest(uuid)),
      destroy: (uuid) => this.destroy(uuid),
      chooseQos: ({ flavor }, uuid) =>
        chooseGuestQos(flavor.extra_specs, flavor.vcpus, o.cpuSets ?? null, this.dedicatedCpusTaken(uuid)),
    };
  }

  onLifecycleEvent(listener: (event: GuestLifecycleEvent) => void): void {
    this.lifecycleListeners.push(listener);
  }

  private emitLifecycle(guest: Guest, reason: string): void {
    const event = { uuid: guest.spec.uuid, powerState: guest.powerState, reason };
    for (const listener of this.lifecycleListeners) listener(event);
  }

  /** Connects to the guest's QMP socket and follows its events. */
  private async attach(guest: Guest): Promise<void> {
    const qmp = await QmpClient.connect(guest.paths.qmpSocket);
    guest.qmp = qmp;
    qmp.onEvent((event) => {
      if (event.event === 'STOP') {
        guest.powerState = PowerState.PAUSED;
        // A stop can be an internal error or a panic pausing the guest: the status tells.
        void qmp.execute('query-status', {}).then(
          (status) => {
            if (powerStateOf(status.status) !== PowerState.CRASHED || guest.qmp !== qmp) return;
            guest.powerState = PowerState.CRASHED;
            this.emitLifecycle(guest, `crashed: ${status.status}`);
          },
          () => undefined,
        );
      } else if (event.event === 'RESUME') guest.powerState = PowerState.RUNNING;
      else if (event.event === 'SHUTDOWN') {
        const reason = typeof event.data?.['reason'] === 'string' ? event.data['reason'] : 'unknown';
        guest.powerState = reason === 'guest-panic' ? PowerState.CRASHED : PowerState.SHUTDOWN;
        this.emitLifecycle(guest, `shutdown: ${reason}`);
      } else if (event.event === 'POWERDOWN') this.emitLifecycle(guest, 'powerdown requested');
      else if (event.event === 'GUEST_PANICKED') {
        guest.powerState = PowerState.CRASHED;
        this.emitLifecycle(guest, 'crashed: guest panicked');
      }
    });
    qmp.onClose(() => {
      if (guest.qmp !== qmp) return;
      // qemu exits when the guest powers off (no -no-shutdown) or is quit, announcing it with a SHUTDOWN
      // event first; an exit without one (killed, aborted) is a crash.
      guest.qmp = null;
      const unannounced = guest.powerState !== PowerState.SHUTDOWN && guest.powerState !== PowerState.CRASHED;
      if (unannounced) guest.powerState = PowerState.CRASHED;
      log.info({ instance: guest.spec.uuid, powerState: guest.powerState }, 'guest stopped');
      if (unannounced) this.emitLifecycle(guest, 'crashed: qemu exited without a shutdown');
    });
  }

  async destroy(uuid: string): Promise<void> {
    const paths = guestPaths(this.options.instancesPath, uuid);
    const guest = this.guests.get(uuid) ?? (await this.loadGuest(uuid));
    if (guest) await this.stopProcess(guest);
    this.guests.delete(uuid);
    // An empty cgroup left behind is harmless; a delete stuck on one is not.
    if (this.cpuCgroup) {
      await removeCpuCgroup(this.cpuCgroup, uuid).catch((err: Error) =>
        log.error({ instance: uuid, err: err.message }, 'could not remove the guest cgroup; remove it by hand'),
      );
    }
    // loadGuest has read guest.json already: no guest means no readable spec, and its files are unknown.
    // Every file of the guest's disks (its disks, snapshot links, a pending overlay) is in diskDirectory.
    if (guest) await rm(guest.spec.diskDirectory, { recursive: true, force: true });
    await rm(paths.directory, { recursive: true, force: true });
  }

  async powerOff(uuid: string, timeoutSec: number): Promise<void> {
    const guest = this.guest(uuid);
    if (!this.isRunning(guest)) {
      guest.powerState = PowerState.SHUTDOWN;
      return;
    }
    if (!(await this.shutdownGracefully(guest, timeoutSec))) {
      log.warn({ instance: uuid, timeoutSec }, 'guest did not power off in time; stopping it');
      await this.stopProcess(guest);
    }
    guest.powerState = PowerState.SHUTDOWN;
  }

  async powerOn(uuid: string, networkInfo?: NetworkInfo): Promise<void> {
    const guest = this.guest(uuid);
    if (this.isRunning(guest)) {
      if (guest.powerState === PowerState.PAUSED) await (await this.qmp(guest)).execute('cont', {});
      return;
    }
    await this.launchWith(guest, networkInfo);
  }

  async reboot(uuid: string, type: RebootType, networkInfo?: NetworkInfo): Promise<void> {
    const guest = this.guest(uuid);
    if (!this.isRunning(guest)) return this.launchWith(guest, networkInfo);
    if (type === 'SOFT') {
      if (await this.shutdownGracefully(guest, this.options.softRebootTimeoutSec)) {
        return this.launchWith(guest, networkInfo);
      }
      // Nova's libvirt driver too falls back to a hard reboot when the guest ignores the soft one.
      log.warn({ instance: uuid }, 'guest ignored the soft reboot; resetting it');
    }
    // A reset keeps qemu and so its devices: other NICs need a new qemu.
    if (networkInfo && !sameNics(guestNics(networkInfo), guest.spec.nics ?? [])) {
      await this.stopProcess(guest);
      return this.launchWith(guest, networkInfo);
    }
    const qmp = await this.qmp(guest);
    await qmp.execute('system_reset', {});
    if (guest.powerState === PowerState.PAUSED) await qmp.execute('cont', {});
    guest.powerState = PowerState.RUNNING;
  }

  async pause(uuid: string): Promise<void> {
    const guest = this.runningGuest(uuid, 'paused');
    await (await this.qmp(guest)).execute('stop', {});
    guest.powerState = PowerState.PAUSED;
  }

  async unpause(uuid: string): Promise<void> {
    const guest = this.runningGuest(uuid, 'unpaused');
    await (await this.qmp(guest)).execute('cont', {});
    guest.powerState = PowerState.RUNNING;
  }

  /** Nova's managed save: stop the CPUs, stream the state to a file in the guest's directory, end qemu. */
  async suspend(uuid: string): Promise<void> {
    const guest = this.runningGuest(uuid, 'suspended');
    const qmp = await this.qmp(guest);
    const partial = `${guest.paths.savedState}.part`;
    await qmp.execute('stop', {});
    try {
      await qmp.execute('migrate', { uri: `exec:cat > ${shellQuote(partial)}` });
      for (;;) {
        const { status, 'error-desc': why } = await qmp.execute('query-migrate', {});
        if (status === 'completed') break;
        if (status === 'failed' || status === 'cancelled')
          throw new Error(`saving guest ${uuid} failed: ${why ?? status}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } catch (err) {
      await rm(partial, { force: true });
      await qmp.execute('cont', {}).catch(() => undefined);
      throw err;
    }
    await rename(partial, guest.paths.savedState);
    await this.stopProcess(guest);
    guest.powerState = PowerState.SUSPENDED;
  }

  async resume(uuid: string): Promise<void> {
    const guest = this.guest(uuid);
    if (this.isRunning(guest) || !(await exists(guest.paths.savedState))) {
      throw new InstanceInvalidState(`guest ${uuid} is not suspended; there is no saved state to resume from`);
    }
    await this.launch(guest, guest.paths.savedState);
    const qmp = await this.qmp(guest);
    // The saved state loads first ('inmigrate'); the guest was stopped when saved, so it then waits paused.
    let { status } = await qmp.execute('query-status', {});
    while (status === 'inmigrate') {
      await new Promise((r) => setTimeout(r, 50));
      ({ status } = await qmp.execute('query-status', {}));
    }
    if (status !== 'running') await qmp.execute('cont', {});
    guest.powerState = PowerState.RUNNING;
    await rm(guest.paths.savedState, { force: true });
  }

  /**
   * Flattens the root disk (its qcow2 overlay and the cached base under it) into one standalone qcow2 in
   * the snapshots directory. A running guest's CPUs are stopped for the copy, so the disk does not change
   * under it (qemu flushes its writes on stop), and continued after it, even if the copy failed: the
   * snapshot is crash-consistent, as a power cut at that instant would leave the disk. A paused, stopped
   * or suspended guest is copied as it is.
   */
  async snapshot(uuid: string): Promise<SnapshotData> {
    const guest = this.guest(uuid);
    const root = this.rootDisk(guest);
    await mkdir(this.options.snapshotsDirectory, { recursive: true });
    const target = join(this.options.snapshotsDirectory, `${uuid}-${randomUUID()}.qcow2`);
    const qmp = this.isRunning(guest) && guest.powerState === PowerState.RUNNING ? await this.qmp(guest) : null;
    try {
      if (qmp) await qmp.execute('stop', {});
      try {
        await this.options.qemuImg.flatten(root.path, root.format, target);
      } finally {
        if (qmp) await qmp.execute('cont', {});
      }
    } catch (err) {
      await rm(target, { force: true });
      throw new Error(`could not snapshot the disk of guest ${uuid}: ${(err as Error).message}`);
    }
    const { size } = await stat(target);
    log.info({ instance: uuid, size, paused: qmp !== null }, 'guest disk flattened for a snapshot');
    return {
      diskFormat: 'qcow2',
      containerFormat: 'bare',
      size,
      open: () => createReadStream(target),
      discard: () => rm(target, { force: true }),
    };
  }

  async diskSnapshots(uuid: string): Promise<DiskSnapshotLink[]> {
    const links = this.guest(uuid).spec.diskSnapshots ?? [];
    return Promise.all(
      links.map(async (link) => DiskSnapshotLinkShape.build({ id: link.id, size: await linkSize(link.path) })),
    );
  }

  /**
   * Freezes the root disk as link `id` (disk-chain.ts): a running or paused guest over QMP, without a
   * pause; a stopped or suspended one with qemu-img. guest.json then names the new active overlay.
   */
  async createDiskSnapshot(uuid: string, id: string): Promise<void> {
    const guest = this.guest(uuid);
    const links = guest.spec.diskSnapshots ?? [];
    if (links.some((link) => link.id === id)) return;
    const root = this.rootDisk(guest);
    const overlay = this.newOverlayPath(guest);
    const qmp = this.isRunning(guest) ? await this.qmp(guest) : null;
    guest.spec.pendingDiskSnapshot = { id, overlay };
    await writeGuestSpec(guest.paths.spec, guest.spec);
    try {
      await freezeActive(root, overlay, qmp, this.options.qemuImg);
    } catch (err) {
      // qemu may have created the file before failing to switch to it; the guest does not use it.
      delete guest.spec.pendingDiskSnapshot;
      await writeGuestSpec(guest.paths.spec, guest.spec);
      await rm(overlay, { force: true });
      throw new Error(`could not take disk snapshot ${id} of guest ${uuid}: ${(err as Error).message}`);
    }
    this.linkActiveDisk(guest, id, overlay);
    await writeGuestSpec(guest.paths.spec, guest.spec);
    log.info({ instance: uuid, snapshot: id, live: qmp !== null, links: links.length + 1 }, 'disk snapshot taken');
  }

  /** The active disk becomes link `id`, and `overlay` (a qcow2 file on it) the active disk. */
  private linkActiveDisk(guest: Guest, id: string, overlay: string): void {
    const root = this.rootDisk(guest);
    guest.spec.diskSnapshots = [...(guest.spec.diskSnapshots ?? []), { id, path: root.path }];
    root.path = overlay;
    delete guest.spec.pendingDiskSnapshot;
  }

  /**
   * A disk snapshot a compute restart interrupted (guest.json names its overlay): the overlay is made
   * the active disk if the guest's qemu writes to it, or, with no qemu running, if it is an overlay of
   * the active disk: one nothing was written to reads as the disk below it, so making it a link loses
   * nothing either way. Otherwise it is removed. A running guest whose monitor does not answer is left
   * for the next restart, since only qemu can tell which file it writes to.
   */
  private async settlePendingDiskSnapshot(guest: Guest): Promise<void> {
    const pending = guest.spec.pendingDiskSnapshot;
    if (!pending) return;
    let adopt: boolean;
    if (guest.pid !== null) {
      if (!guest.qmp || guest.qmp.closed) return;
      const blocks = await guest.qmp.execute('query-block', {});
      adopt = blocks.some((block) => block.inserted?.file === pending.overlay);
    } else {
      const info = await this.options.qemuImg.info(pending.overlay).catch(() => null);
      adopt = info?.backingFilename === this.rootDisk(guest).path;
    }
    if (adopt) this.linkActiveDisk(guest, pending.id, pending.overlay);
    else delete guest.spec.pendingDiskSnapshot;
    await writeGuestSpec(guest.paths.spec, guest.spec);
    if (!adopt) await rm(pending.overlay, { force: true });
    log.warn(
      { instance: guest.spec.uuid, snapshot: pending.id, adopted: adopt },
      'settled a disk snapshot interrupted by a restart',
    );
  }

  /** Merges link `id` into the next link or the active disk (disk-chain.ts), then removes its file. */
  async deleteDiskSnapshot(uuid: string, id: string): Promise<void> {
    const guest = this.guest(uuid);
    const links = guest.spec.diskSnapshots ?? [];
    const at = links.findIndex((link) => link.id === id);
    if (at < 0) return;
    const link = links[at]!;
    const child = links[at + 1]?.path ?? this.rootDisk(guest).path;
    const qmp = this.isRunning(guest) ? await this.qmp(guest) : null;
    try {
      await mergeIntoChild(link.path, child, qmp, this.options.qemuImg);
    } catch (err) {
      throw new Error(`could not merge disk snapshot ${id} of guest ${uuid} into its child: ${(err as Error).message}`);
    }
    guest.spec.diskSnapshots = links.filter((l) => l !== link);
    await writeGuestSpec(guest.paths.spec, guest.spec);
    await rm(link.path, { force: true });
    log.info({ instance: uuid, snapshot: id, live: qmp !== null }, 'disk snapshot merged into its child');
  }

  /**
   * Reverts the root disk to link `id`: the guest's qemu ends at once (what it wrote since is discarded,
   * so there is nothing to shut down cleanly for), a new active overlay is made on the link, guest.json
   * names it, the old active disk and the later links are removed, and a guest that ran is started again.
   * If the new overlay cannot be made, the chain is left as it was and the guest started again on it.
   */
  async revertDiskSnapshot(uuid: string, id: string): Promise<void> {
    const guest = this.guest(uuid);
    const links = guest.spec.diskSnapshots ?? [];
    const at = links.findIndex((link) => link.id === id);
    if (at < 0) throw new NotFound(`disk snapshot ${id} is not in the chain of guest ${uuid}`);
    const target = links[at]!;
    const root = this.rootDisk(guest);
    const wasRunning = this.isRunning(guest);
    await this.stopProcess(guest);
    const overlay = this.newOverlayPath(guest);
    try {
      await this.options.qemuImg.createOverlay(target.path, 'qcow2', overlay);
    } catch (err) {
      await rm(overlay, { force: true });
      if (wasRunning) await this.launch(guest);
      throw new Error(`could not revert guest ${uuid} to disk snapshot ${id}: ${(err as Error).message}`);
    }
    const discarded = [root.path, ...links.slice(at + 1).map((link) => link.path)];
    guest.spec.diskSnapshots = links.slice(0, at + 1);
    root.path = overlay;
    await writeGuestSpec(guest.paths.spec, guest.spec);
    for (const file of discarded) await rm(file, { force: true });
    log.info({ instance: uuid, snapshot: id, discarded: discarded.length - 1, restart: wasRunning }, 'disk reverted');
    if (wasRunning) await this.launch(guest);
  }

  /**
   * Rebuild (guest-rebuild.ts): the guest's qemu ends (cleanly within the timeout when its ephemeral
   * disk is kept, since only then does what the guest still has to write matter), its disks are recreated
   * from the instance's image, guest.json names them, the old files go, and the guest boots if asked.
   */
  async rebuild(instance: InstancePayload, options: RebuildOptions): Promise<void> {
    const guest = this.guest(instance.uuid);
    if (options.preserveEphemeral && this.isRunning(guest)) {
      await this.powerOff(instance.uuid, options.shutdownTimeoutSec);
    } else await this.stopProcess(guest);
    const { imageCache, qemuImg } = this.options;
    const discarded = await recreateGuestDisks(guest.spec, instance, imageCache, qemuImg, options.preserveEphemeral);
    await this.writeConfigDrive(guest.spec, guest.paths, options.configDrive);
    await writeGuestSpec(guest.paths.spec, guest.spec);
    for (const file of discarded) await rm(file, { force: true });
    log.info(
      { instance: instance.uuid, image: instance.image_ref, discarded: discarded.length },
      'guest disks rebuilt',
    );
    await options.disksReady();
    if (options.start) await this.launchWith(guest, options.networkInfo);
    else await this.recordNics(guest, options.networkInfo);
  }

  /**
   * Writes the guest's config drive and records it in `spec` (the caller writes guest.json); without
   * `files`, the guest has none and any earlier drive goes (a rebuild of a server without one).
   */
  private async writeConfigDrive(spec: GuestSpec, paths: GuestPaths, files: ConfigDriveFiles | undefined) {
    if (!files) {
      delete spec.configDrive;
      await rm(paths.configDrive, { force: true });
      return;
    }
    const options = this.options.configDrive ?? { format: 'iso9660', mkisofsCmd: 'genisoimage' };
    await writeConfigDrive(files, paths.configDrive, options);
    spec.configDrive = { path: paths.configDrive, format: options.format };
  }

  /** Starts the guest with the NICs of `networkInfo` (recorded first), or with those it has without one. */
  private async launchWith(guest: Guest, networkInfo: NetworkInfo | undefined): Promise<void> {
    await this.recordNics(guest, networkInfo);
    await this.launch(guest);
  }

  /** Makes `networkInfo`, when given, the guest's NICs in guest.json (each start of its qemu reads them). */
  private async recordNics(guest: Guest, networkInfo: NetworkInfo | undefined): Promise<void> {
    if (!networkInfo) return;
    guest.spec.nics = guestNics(networkInfo);
    await writeGuestSpec(guest.paths.spec, guest.spec);
  }

  /** Interface attach and detach (guest-nics.ts). */
  async attachInterface(uuid: string, vif: Vif): Promise<void> {
    await attachNic(await this.nicGuest(uuid), vif);
  }

  async detachInterface(uuid: string, vif: Vif): Promise<void> {
    await detachNic(await this.nicGuest(uuid), vif);
  }

  private async nicGuest(uuid: string): Promise<NicGuest> {
    const guest = this.guest(uuid);
    const running = this.isRunning(guest);
    return {
      spec: guest.spec,
      save: () => writeGuestSpec(guest.paths.spec, guest.spec),
      running,
      suspended: !running && (await exists(guest.paths.savedState)),
      qmp: () => this.qmp(guest),
    };
  }

  private rootDisk(guest: Guest): GuestDisk {
    const root = guest.spec.disks.find((disk) => disk.role === 'root');
    if (!root) throw new Error(`guest ${guest.spec.uuid} has no root disk`);
    return root;
  }

  /** A new file name beside the guest's disks for an active overlay. */
  private newOverlayPath(guest: Guest): string {
    return join(guest.spec.diskDirectory, `disk.${randomUUID()}`);
  }

  /** Rescue and unrescue (rescue.ts). */
  rescue(uuid: string, imageRef: string, shutdownTimeoutSec: number, networkInfo?: NetworkInfo): Promise<void> {
    return rescueGuest(this.rescueHost(networkInfo), uuid, imageRef, shutdownTimeoutSec);
  }

  unrescue(uuid: string): Promise<void> {
    return unrescueGuest(this.rescueHost(), uuid);
  }

  isRescued(uuid: string): boolean {
    return this.guests.get(uuid)?.spec.rescue !== undefined;
  }

  /** What rescue.ts needs of the driver; the rescue boot gets the NICs of `networkInfo` when given. */
  private rescueHost(networkInfo?: NetworkInfo): RescueHost {
    return {
      imageCache: this.options.imageCache,
      qemuImg: this.options.qemuImg,
      spec: (uuid) => {
        const guest = this.guest(uuid);
        return { spec: guest.spec, specPath: guest.paths.spec };
      },
      isRunning: (uuid) => this.isRunning(this.guest(uuid)),
      powerOff: (uuid, timeoutSec) => this.powerOff(uuid, timeoutSec),
      stop: (uuid) => this.stopProcess(this.guest(uuid)),
      start: (uuid) => this.launchWith(this.guest(uuid), networkInfo),
    };
  }

  /** An NMI to the guest's CPUs (QMP inject-nmi); the guest kernel decides what follows. */
  async triggerCrashDump(uuid: string): Promise<void> {
    const guest = this.runningGuest(uuid, 'sent an NMI');
    await (await this.qmp(guest)).execute('inject-nmi', {});
  }

  async getDiagnostics(uuid: string): Promise<GuestDiagnostics> {
    const guest = this.runningGuest(uuid, 'diagnosed');
    return qemuDiagnostics(await this.qmp(guest), {
      pid: guest.pid!,
      powerState: guest.powerState,
      memoryMb: guest.spec.memoryMb,
      hypervisor: this.accel === 'kvm' ? 'kvm' : 'qemu',
      configDrive: guest.spec.configDrive !== undefined,
    });
  }

  /** The guest, if its qemu runs; else why it cannot be `what`. */
  private runningGuest(uuid: string, what: string): Guest {
    const guest = this.guest(uuid);
    if (!this.isRunning(guest)) throw new InstanceInvalidState(`guest ${uuid} is not running, so it cannot be ${what}`);
    return guest;
  }

  listGuests(): GuestInfo[] {
    for (const guest of this.guests.values()) this.noticeUnwatchedExit(guest);
    return [...this.guests.values()].map((g) => ({
      uuid: g.spec.uuid,
      nodename: g.spec.nodename,
      powerState: g.powerState,
    }));
  }

  powerState(uuid: string): number {
    const guest = this.guests.get(uuid);
    if (!guest) return PowerState.NOSTATE;
    this.noticeUnwatchedExit(guest);
    return guest.powerState;
  }

  async getConsoleOutput(uuid: string): Promise<string> {
    const guest = this.guest(uuid);
    let text: Buffer;
    try {
      text = await readFile(guest.paths.consoleLog);
    } catch {
      return '';
    }
    return text.subarray(Math.max(0, text.length - MAX_CONSOLE_BYTES)).toString('utf8');
  }

  /**
   * Through the QEMU guest agent (guest-agent.ts) of a guest whose image asked for it (hw_qemu_guest_agent);
   * refused for the others as Nova's libvirt driver refuses them. One conversation at a time per guest.
   */
  async setAdminPassword(uuid: string, password: string): Promise<void> {
    const guest = this.guest(uuid);
    const { agentTimeoutMs = DEFAULT_AGENT_TIMEOUT_MS } = this.options;
    const previous = this.agentTurns.get(uuid) ?? Promise.resolve();
    const turn = previous.then(() =>
      setGuestPassword(guest.spec.guestAgent, guest.paths.agentSocket, password, agentTimeoutMs),
    );
    const settled = turn.catch(() => undefined);
    this.agentTurns.set(uuid, settled);
    try {
      await turn;
    } finally {
      if (this.agentTurns.get(uuid) === settled) this.agentTurns.delete(uuid);
    }
  }

  /** The running guest's VNC port, as its qemu reports it, at the address the console proxy reaches. */
  async getVncConsole(uuid: string): Promise<VncConsole> {
    const guest = this.guest(uuid);
    const vnc = this.options.vnc;
    if (!vnc || !this.isRunning(guest)) throw new ConsoleTypeUnavailable('Unavailable console type vnc.');
    const info = await (await this.qmp(guest)).execute('query-vnc', {});
    const port = Number(info.service);
    // A guest started while [vnc] enabled was false has no VNC server until it is started again.
    if (!info.enabled || !Number.isInteger(port) || port <= 0) {
      throw new ConsoleTypeUnavailable('Unavailable console type vnc.');
    }
    return { host: vnc.proxyclientAddress, port };
  }

  /** Pre-caching: the image made ready in the image cache as a build of it would. */
  cacheImage(imageId: string): Promise<boolean> {
    return this.options.imageCache.preload(imageId);
  }

  /** Removes cached images no guest uses, once they are old enough (Nova's image cache manager). */
  async manageImageCache(): Promise<void> {
    const { removeUnused, minimumAgeSec } = this.options.imageCacheOptions;
    if (!removeUnused) return;
    const inUse = new Set([...this.guests.values()].flatMap((g) => [...g.spec.baseFiles, ...rescueBaseFiles(g.spec)]));
    await this.options.imageCache.removeUnused(inUse, minimumAgeSec);
  }

  async shutdown(): Promise<void> {
    await this.moves.close();
    // Guests keep running: a restarted compute service finds them again through their QMP sockets.
    for (const guest of this.guests.values()) {
      const qmp = guest.qmp;
      guest.qmp = null;
      qmp?.close();
    }
  }

  /** Asks the guest to power off (ACPI) and waits up to `timeoutSec` for qemu to exit. */
  private async shutdownGracefully(guest: Guest, timeoutSec: number): Promise<boolean> {
    await (await this.qmp(guest)).execute('system_powerdown', {});
    return this.waitForExit(guest, timeoutSec * 1000);
  }

  /** Ends the guest's qemu: QMP quit, then SIGKILL if it lingers. */
  private async stopProcess(guest: Guest): Promise<void> {
    if (!this.isRunning(guest)) return;
    try {
      await (await this.qmp(guest)).execute('quit', {});
    } catch (err) {
      log.warn({ instance: guest.spec.uuid, err: (err as Error).message }, 'QMP quit failed; killing qemu');
    }
    if (await this.waitForExit(guest, QUIT_WAIT_MS)) return;
    if (guest.pid !== null) process.kill(guest.pid, 'SIGKILL');
    if (!(await this.waitForExit(guest, QUIT_WAIT_MS))) {
      throw new Error(`qemu of guest ${guest.spec.uuid} (pid ${guest.pid}) does not exit, even killed`);
    }
  }

  private async waitForExit(guest: Guest, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.isRunning(guest)) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    guest.qmp?.close();
    guest.qmp = null;
    guest.pid = null;
    if (guest.powerState !== PowerState.CRASHED) guest.powerState = PowerState.SHUTDOWN;
    await rm(guest.paths.qmpSocket, { force: true });
    await rm(guest.paths.pidfile, { force: true });
    return true;
  }

  /**
   * A guest with no QMP connection (the monitor was busy or lost) reports no events: its qemu may have
   * exited unseen. Without the SHUTDOWN event there is no telling a clean power-off from a crash, so it
   * is taken as off, not crashed. A connected guest learns of the exit from the connection closing.
   */
  private noticeUnwatchedExit(guest: Guest): void {
    if (guest.pid === null || guest.qmp || isQemuAlive(guest.pid, guest.spec.uuid)) return;
    guest.pid = null;
    if (guest.powerState !== PowerState.CRASHED) guest.powerState = PowerState.SHUTDOWN;
    log.info({ instance: guest.spec.uuid }, 'guest stopped while unwatched');
  }

  private isRunning(guest: Guest): boolean {
    return guest.pid !== null && isQemuAlive(guest.pid, guest.spec.uuid);
  }

  /** The guest's QMP connection, re-established if it was lost while qemu still runs. */
  private async qmp(guest: Guest): Promise<QmpClient> {
    if (!guest.qmp || guest.qmp.closed) await this.attach(guest);
    return guest.qmp!;
  }

  private guest(uuid: string): Guest {
    const guest = this.guests.get(uuid);
    if (!guest) throw new NotFound(`guest ${uuid} is not on this host`);
    return guest;
  }

  /** After a restart: every guest directory with a guest.json is a guest, running if its qemu still is. */
  private async rediscoverGuests(): Promise<void> {
    const entries = await readdir(this.options.instancesPath, { withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isDirectory() || this.guests.has(entry.name)) continue;
      const guest = await this.loadGuest(entry.name);
      if (!guest) continue;
      // Compute hosts sharing an instances_path (several on one machine) each keep to their own guests:
      // another host's guest would look unknown here, and be reaped as such.
      if (guest.spec.nodename !== this.node?.nodename) continue;
      this.guests.set(guest.spec.uuid, guest);
      if (guest.pid !== null) {
        try {
          await this.attach(guest);
          guest.powerState = powerStateOf((await guest.qmp!.execute('query-status', {})).status);
        } catch (err) {
          log.warn({ instance: guest.spec.uuid, err: (err as Error).message }, 'running guest does not answer QMP');
          guest.powerState = PowerState.NOSTATE;
        }
        log.info({ instance: guest.spec.uuid, pid: guest.pid, powerState: guest.powerState }, 'found guest again');
      }
      await this.settlePendingDiskSnapshot(guest).catch((err: Error) =>
        log.error({ instance: guest.spec.uuid, err: err.message }, 'could not settle an interrupted disk snapshot'),
      );
    }
  }

  private async loadGuest(uuid: string): Promise<Guest | null> {
    let paths: GuestPaths;
    try {
      paths = guestPaths(this.options.instancesPath, uuid);
    } catch {
      return null;
    }
    const spec = await readGuestSpec(paths.spec);
    if (!spec) return null;
    const pid = Number(await readFile(paths.pidfile, 'utf8').catch(() => ''));
    const alive = pid > 0 && isQemuAlive(pid, uuid);
    const suspended = !alive && (await exists(paths.savedState));
    return {
      spec,
      paths,
      qmp: null,
      pid: alive ? pid : null,
      powerState: alive ? PowerState.RUNNING : suspended ? PowerState.SUSPENDED : PowerState.SHUTDOWN,
    };
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
