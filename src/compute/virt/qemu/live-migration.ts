/**
 * Live migration for the qemu driver, with QEMU's own migration over TCP between the two hosts' qemu
 * processes (as libvirt drives it), the guest running all along but for the final switch-over.
 *
 * Hosts keep their disks in their own instance directories (no shared storage), so the disks move by
 * block migration: the destination makes empty disks of the same sizes (the root an overlay on its own
 * copy of the base image, fetched from the image service or its cache), starts qemu paused waiting for
 * the state (`-incoming defer -S`) and exports its disks over NBD; the source mirrors each disk into
 * them (`drive-mirror`, only the overlay's own clusters for the root: the base is the same image on
 * both) in write-blocking mode, so once in sync every write of the guest reaches both, then migrates the
 * memory and devices (`migrate` to tcp:). Once QEMU reports completion the source's CPUs are stopped; the
 * mirrors are cancelled (in sync, so the destination's disks are whole) and only then does the
 * destination stop its NBD server and resume the guest, as libvirt does, so the destination never runs on
 * a disk still being written by the source.
 */
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { InstanceInvalidState, MigrationError } from '../../../common/errors.ts';
import { getLogger } from '../../../common/log/logger.ts';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import type { LiveMigrateData, LiveMigrationProgress } from '../../../wire/messages/live-migrate-data.ts';
import type { NetworkInfo } from '../../../wire/messages/network-info.ts';
import { fetchGuestImage, guestSpecOf } from './guest-builder.ts';
import { diskDirectory, guestPaths } from './guest-files.ts';
import type { MovesHost } from './guest-moves.ts';
import { guestNics } from './guest-nics.ts';
import type { GuestDisk } from './guest-spec.ts';
import type { QmpClient } from './qmp-client.ts';

const log = getLogger('compute.qemu.live_migration');
const GiB = 1024 ** 3;
const POLL_MS = 50;
/** Ports tried for the NBD export before giving up (each probed free, then raced for). */
const PORT_ATTEMPTS = 5;

/** What the destination prepared, for the source to stream to: its migration URI and NBD server. */
export interface LiveMigrationTarget {
  uri: string;
  /** Where the destination's disks are exported (block migration), each as its drive's name. */
  nbd: { host: string; port: number; drives: string[] };
}

/** How the migration went, as QEMU measured it (ms), plus the switch-over's disk part. */
export interface LiveMigrationStats {
  totalMs: number;
  downtimeMs: number;
}

/** What live migration needs of the driver beyond what moves need. */
export interface LiveMigrationHost extends MovesHost {
  /** Starts the guest's qemu waiting, paused, for an incoming migration. */
  startIncoming(uuid: string): Promise<void>;
  qmp(uuid: string): Promise<QmpClient>;
  /** The guest's power state is now running (after the destination resumed it), or paused (kept so). */
  markRunning(uuid: string, paused?: boolean): void;
  readonly migrationAddress: string;
  /**
   * Where this host's qemu listens for an incoming migration ([qemu] live_migration_inbound_addr), and
   * whether qemu runs in the datapath's namespace (so that this process cannot probe ports there).
   */
  readonly inbound: { address: string; inNamespace: boolean };
}

/** QEMU's name of the guest's n-th `-drive if=virtio` (no id given): virtio0, virtio1, ... */
const driveName = (index: number) => `virtio${index}`;

/** The dynamic port range (RFC 6335), where ports are picked in a namespace this process cannot probe. */
const DYNAMIC_PORTS = { first: 49152, count: 16384 };

/**
 * A TCP port for qemu to listen at: probed free on the address now when this process shares qemu's
 * namespace, else a random dynamic one (the namespace holds few listeners). Either may be taken before
 * qemu binds it, so its caller tries another on "in use".
 */
async function portFor(inbound: LiveMigrationHost['inbound']): Promise<number> {
  if (inbound.inNamespace) return DYNAMIC_PORTS.first + randomInt(DYNAMIC_PORTS.count);
  return freePortOn(inbound.address);
}

/** Runs `listen` on ports from `portFor` until one is not in use (PORT_ATTEMPTS at most); returns it. */
async function listenOnSomePort(
  inbound: LiveMigrationHost['inbound'],
  listen: (port: number) => Promise<unknown>,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await portFor(inbound);
    try {
      await listen(port);
      return port;
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/in use/i.test((err as Error).message)) throw err;
    }
  }
}

/** A TCP port free on the address now (qemu binds it itself right after). */
async function freePortOn(address: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new MigrationError(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export class QemuLiveMigration {
  /** Guests whose migration from here was aborted while it ran (their waits give up at the next poll). */
  private readonly aborting = new Set<string>();
  /** Guests migrating from here now, with their disk copy jobs. */
  private readonly running = new Map<string, string[]>();

  constructor(
    private readonly h: LiveMigrationHost,
    /** How long the disk copy and the memory transfer may take, each. */
    private readonly timeoutMs: number = 600_000,
  ) {}

  /**
   * Destination (Nova's pre_live_migration): the guest's disks made empty here at the sizes of its flavor,
   * its qemu started paused waiting for the stream, its disks exported over NBD. A failure leaves nothing.
   */
  async preLiveMigration(
    instance: InstancePayload,
    node: string,
    networkInfo: NetworkInfo,
  ): Promise<LiveMigrationTarget> {
    const { uuid, flavor } = instance;
    if (node !== this.h.host()) throw new MigrationError(`node ${node} is not on host ${this.h.host()}`);
    if (this.h.has(uuid)) throw new MigrationError(`host ${this.h.host()} already has a guest of instance ${uuid}`);
    const paths = guestPaths(this.h.instancesPath, uuid);
    const directory = diskDirectory(this.h.storagePools, instance);
    try {
      await mkdir(paths.directory, { recursive: true });
      await mkdir(directory, { recursive: true });
      const image = await fetchGuestImage(instance, this.h.imageCache);
      // The same disks in the same order as a build makes them, so drive n here is drive n there.
      const disks: GuestDisk[] = [{ path: join(directory, 'disk'), format: 'qcow2', role: 'root' }];
      await this.h.qemuImg.createOverlay(image.root.path, image.root.format, disks[0]!.path, image.rootBytes);
      const raw = async (name: string, role: GuestDisk['role'], bytes: number) => {
        const path = join(directory, name);
        await writeFile(path, '');
        await truncate(path, bytes);
        disks.push({ path, format: 'raw', role });
      };
      if (flavor.ephemeral_gb > 0) await raw('disk.eph0', 'ephemeral', flavor.ephemeral_gb * GiB);
      if (flavor.swap > 0) await raw('disk.swap', 'swap', flavor.swap * 1024 ** 2);
      const spec = guestSpecOf(instance, node, directory, image, disks);
      spec.qos = this.h.chooseQos(instance, uuid);
      spec.nics = guestNics(networkInfo);
      await this.h.save(spec);
      await this.h.startIncoming(uuid);
      const qmp = await this.h.qmp(uuid);
      const inbound = this.h.inbound;
      const host = inbound.address;
      // A port found free may be taken before qemu binds it (another guest's migration): another one.
      const nbdPort = await listenOnSomePort(inbound, (port) =>
        qmp.execute('nbd-server-start', { addr: { type: 'inet', data: { host, port: String(port) } } }),
      );
      const drives = disks.map((_, i) => driveName(i));
      for (const drive of drives) await qmp.execute('nbd-server-add', { device: drive, writable: true });
      const uriOf = (port: number) => `tcp:${host.includes(':') ? `[${host}]` : host}:${port}`;
      const uri = uriOf(
        await listenOnSomePort(inbound, (port) => qmp.execute('migrate-incoming', { uri: uriOf(port) })),
      );
      log.info({ instance: uuid, uri, nbd: nbdPort }, 'waiting for the guest to migrate here');
      return { uri, nbd: { host, port: nbdPort, drives } };
    } catch (err) {
      await this.h.destroy(uuid).catch(() => undefined);
      await rm(directory, { recursive: true, force: true });
      await rm(paths.directory, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Source (Nova's live_migration): the disks mirrored into the destination's, then the guest's state
   * streamed; resolves once the source's CPUs are stopped for good and the destination's disks are whole
   * (its guest then waits for postLiveMigrationAtDestination to resume it). A failure before QEMU
   * completes cancels it all: the guest runs on here as before.
   */
  /** Destination (Nova's check_can_live_migrate_destination): the node is this host's, the guest not here. */
  async checkDestination(instance: InstancePayload, node: string): Promise<void> {
    if (node !== this.h.host()) throw new MigrationError(`node ${node} is not on host ${this.h.host()}`);
    if (this.h.has(instance.uuid)) {
      throw new MigrationError(`host ${this.h.host()} already has a guest of instance ${instance.uuid}`);
    }
  }

  /** Source (Nova's check_can_live_migrate_source): the guest runs, is not rescued, has no disk snapshots. */
  async checkSource(uuid: string): Promise<void> {
    if (!this.h.has(uuid)) throw new MigrationError(`guest ${uuid} is not on host ${this.h.host()}`);
    const spec = this.h.spec(uuid);
    if (!this.h.isRunning(uuid))
      throw new InstanceInvalidState(`guest ${uuid} is not running; it cannot be live-migrated`);
    if (spec.rescue) throw new InstanceInvalidState(`guest ${uuid} is rescued; unrescue it before migrating it`);
    if ((spec.diskSnapshots ?? []).length > 0) {
      throw new MigrationError(`guest ${uuid} has disk snapshots; delete them or cold migrate the server`);
    }
  }

  /** The driver contract's liveMigration: block migration to what preLiveMigration returned. */
  async migrate(uuid: string, data: LiveMigrateData): Promise<void> {
    if (!data.nbd) throw new MigrationError(`the destination of guest ${uuid} exported no disks to mirror into`);
    await this.liveMigration(uuid, { uri: data.uri, nbd: data.nbd });
  }

  async liveMigration(uuid: string, target: LiveMigrationTarget): Promise<LiveMigrationStats> {
    await this.checkSource(uuid);
    const spec = this.h.spec(uuid);
    this.aborting.delete(uuid);
    if (target.nbd.drives.length !== spec.disks.length) {
      throw new MigrationError(
        `the destination made ${target.nbd.drives.length} disks for guest ${uuid}'s ${spec.disks.length}`,
      );
    }
    const qmp = await this.h.qmp(uuid);
    const jobs = spec.disks.map((disk, i) => ({ id: `migrate-${driveName(i)}`, drive: driveName(i), disk }));
    const nbdHost = target.nbd.host.includes(':') ? `[${target.nbd.host}]` : target.nbd.host;
    this.running.set(
      uuid,
      jobs.map((job) => job.id),
    );
    const abortable =
      <T>(probe: () => Promise<T | undefined>) =>
      async () => {
        if (this.aborting.has(uuid)) throw new MigrationError(`live migration of guest ${uuid} cancelled`);
        return probe();
      };
    try {
      for (const job of jobs) {
        await qmp.execute('drive-mirror', {
          'job-id': job.id,
          device: job.drive,
          target: `nbd://${nbdHost}:${target.nbd.port}/${job.drive}`,
          format: 'raw',
          mode: 'existing',
          // The root's base is the same image on both hosts: only its overlay's clusters travel.
          sync: job.disk.role === 'root' ? 'top' : 'full',
          'copy-mode': 'write-blocking',
        });
      }
      await until(
        'the disks to be in sync',
        this.timeoutMs,
        abortable(async () => {
          const running = await qmp.execute('query-block-jobs', {});
          const mine = running.filter((j) => jobs.some((job) => job.id === j.device));
          if (mine.length < jobs.length)
            throw new MigrationError(`a disk copy of guest ${uuid} stopped before it was in sync`);
          return mine.every((j) => j.ready) ? true : undefined;
        }),
      );
      await qmp.execute('migrate', { uri: target.uri });
      const done = await until(
        'the migration to complete',
        this.timeoutMs,
        abortable(async () => {
          const info = await qmp.execute('query-migrate', {});
          if (info.status === 'completed') return info;
          if (info.status === 'failed' || info.status === 'cancelled') {
            throw new MigrationError(
              `migration of guest ${uuid} ${info.status}: ${info['error-desc'] ?? 'no reason given'}`,
            );
          }
          return undefined;
        }),
      );
      // The source is stopped for good: the mirrors, in sync, end with the destination's disks whole.
      const switchStart = Date.now();
      for (const job of jobs) await qmp.execute('block-job-cancel', { device: job.id });
      await until('the disk copies to end', this.timeoutMs, async () => {
        const running = await qmp.execute('query-block-jobs', {});
        return running.some((j) => jobs.some((job) => job.id === j.device)) ? undefined : true;
      });
      const stats = {
        totalMs: Number(done['total-time'] ?? 0),
        downtimeMs: Number(done.downtime ?? 0) + (Date.now() - switchStart),
      };
      log.info({ instance: uuid, ...stats }, 'guest migrated; the source is stopped');
      return stats;
    } catch (err) {
      await this.cancel(
        qmp,
        jobs.map((job) => job.id),
      );
      throw err;
    } finally {
      this.running.delete(uuid);
      this.aborting.delete(uuid);
    }
  }

  /** Source: the transfer so far of the guest's running migration (QEMU's RAM figures, the mirrors' offsets). */
  async progress(uuid: string): Promise<LiveMigrationProgress | null> {
    const jobIds = this.running.get(uuid);
    if (!jobIds) return null;
    const qmp = await this.h.qmp(uuid);
    const info = await qmp.execute('query-migrate', {});
    const ram = info.ram;
    const jobs = (await qmp.execute('query-block-jobs', {})).filter((j) => jobIds.includes(j.device));
    const diskTotal = jobs.reduce((sum, j) => sum + Number(j.len ?? 0), 0);
    const diskDone = jobs.reduce((sum, j) => sum + Number(j.offset ?? 0), 0);
    return {
      memory_total: ram?.total ?? null,
      memory_processed: ram?.transferred ?? null,
      memory_remaining: ram?.remaining ?? null,
      disk_total: jobs.length ? diskTotal : null,
      disk_processed: jobs.length ? diskDone : null,
      disk_remaining: jobs.length ? Math.max(0, diskTotal - diskDone) : null,
    };
  }

  /** After a failure: the migration and the mirrors cancelled, the guest running here again. */
  private async cancel(qmp: QmpClient, jobIds: string[]): Promise<void> {
    await qmp.execute('migrate_cancel', {}).catch(() => undefined);
    for (const id of jobIds) await qmp.execute('block-job-cancel', { device: id, force: true }).catch(() => undefined);
    const status = await qmp.execute('query-status', {}).catch(() => null);
    if (status && status.status !== 'running') await qmp.execute('cont', {}).catch(() => undefined);
  }

  /** Destination (Nova's post_live_migration_at_destination): the NBD server stopped and the guest resumed. */
  async postLiveMigrationAtDestination(uuid: string, resume = true): Promise<void> {
    const qmp = await this.h.qmp(uuid);
    await qmp.execute('nbd-server-stop', {});
    // A guest paused before its migration stays paused here (its CPUs were never started: `-S`).
    if (resume) await qmp.execute('cont', {});
    this.h.markRunning(uuid, !resume);
    log.info({ instance: uuid, resumed: resume }, 'migrated guest taken over here');
  }

  /** Source: the migration under way is cancelled (Nova's live_migration_abort); the guest runs on here. */
  async abort(uuid: string): Promise<void> {
    if (!this.running.has(uuid)) throw new MigrationError(`guest ${uuid} has no live migration under way here`);
    // While the disks are still being copied there is no migration to cancel yet: the wait gives up.
    this.aborting.add(uuid);
    await (await this.h.qmp(uuid)).execute('migrate_cancel', {});
  }

  /**
   * Source (force complete): the guest is paused so that its memory stops changing and the migration
   * converges, as Nova's libvirt driver does without post-copy; it runs again at the destination.
   */
  async forceComplete(uuid: string): Promise<void> {
    await (await this.h.qmp(uuid)).execute('stop', {});
  }
}
