/**
 * Resize and cold migration for the qemu driver (the driver contract's GuestMoves; Nova's libvirt
 * migrate_disk_and_power_off, finish_migration, confirm_migration and finish_revert_migration).
 *
 * Between two hosts: the source powers the guest off, records the move in guest.json and exports the
 * guest's own disk files (the root overlay and its disk-snapshot links, the ephemeral disk) over HTTP
 * (disk-export.ts). The destination fetches the base image from the image service or its cache, pulls
 * the files into its own instance directory, points the chain's lowest overlay at its own cached copy
 * of the base (the same image, so the same bytes: no data is rewritten), grows the root disk to the new
 * flavor, makes swap anew, and boots the guest. Confirm removes the source's guest and its files; revert
 * has the destination destroy what it made and the source boot its untouched guest again.
 *
 * On the same host (allow_resize_to_same_host): the guest's disks and guest.json are copied into a backup
 * in the guest's own directory (removed with the guest whatever happens), the guest takes the new flavor
 * in place, and a revert copies the backup back.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { InstanceInvalidState, ResizeError } from '../../../common/errors.ts';
import { getLogger } from '../../../common/log/logger.ts';
import type { DiskSource } from '../../../wire/messages/disk-source.ts';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import type { NetworkInfo } from '../../../wire/messages/network-info.ts';
import type { StoragePoolConfig } from '../../storage-pools.ts';
import type { GuestMoves } from '../driver.ts';
import { DiskExport, fetchFile, fetchManifest, isExportName } from './disk-export.ts';
import { createEphemeralDisk, createSwapDisk, fetchGuestImage, guestSpecOf } from './guest-builder.ts';
import { diskDirectory, guestPaths } from './guest-files.ts';
import { guestNics } from './guest-nics.ts';
import type { GuestQos } from './guest-qos.ts';
import type { GuestDisk, GuestSpec } from './guest-spec.ts';
import type { ImageCache } from './image-cache.ts';
import type { QemuImg } from './qemu-img.ts';

const log = getLogger('compute.qemu.moves');
const run = promisify(execFile);
const GiB = 1024 ** 3;

/** What the moves need of the driver (qemu-driver.ts gives it). */
export interface MovesHost {
  readonly host: () => string;
  readonly instancesPath: string;
  readonly storagePools: readonly StoragePoolConfig[];
  readonly imageCache: ImageCache;
  readonly qemuImg: QemuImg;
  has(uuid: string): boolean;
  /** The guest's spec (the driver's own object); NotFound if the guest is not here. */
  spec(uuid: string): GuestSpec;
  /** Makes `spec` the guest's (a new guest is registered) and writes its guest.json. */
  save(spec: GuestSpec): Promise<void>;
  isRunning(uuid: string): boolean;
  powerOff(uuid: string, timeoutSec: number): Promise<void>;
  /** Ends the guest's qemu at once (a guest already powered off: nothing). */
  stop(uuid: string): Promise<void>;
  /** Starts the guest's qemu with the NICs its spec records. */
  start(uuid: string): Promise<void>;
  destroy(uuid: string): Promise<void>;
  /** QoS for the instance's flavor; the CPUs guest `uuid` holds count as free. */
  chooseQos(instance: InstancePayload, uuid: string): GuestQos;
}

/** What the source tells the destination of the exported files (JSON, checked on arrival). */
interface Manifest {
  /** The disk-snapshot links under the root disk, oldest first, each by its file's name. */
  links: { id: string; name: string }[];
  root: string;
  ephemeral: string | null;
}

/**
 * The same-host resize's backup, in the guest's own directory (so removed with the guest whatever
 * happens): a copy of each of its disk files, by name, and its old guest.json.
 */
const backupOf = (instancesPath: string, uuid: string) => {
  const directory = join(guestPaths(instancesPath, uuid).directory, 'resize-backup');
  return { directory, spec: join(directory, 'guest.json'), file: (path: string) => join(directory, basename(path)) };
};

/** The guest's own disk files: its disks and the disk-snapshot links under the root disk. */
const diskFiles = (spec: GuestSpec) => [...spec.disks, ...(spec.diskSnapshots ?? [])].map((disk) => disk.path);

/** Copies a file as it is, holes and all (a reflink where the filesystem can). */
async function copyFile(from: string, to: string): Promise<void> {
  await run('cp', ['--sparse=always', '--reflink=auto', from, to]);
}

export class QemuGuestMoves implements GuestMoves {
  private readonly exports: DiskExport;

  constructor(
    private readonly h: MovesHost,
    migrationAddress: string,
  ) {
    this.exports = new DiskExport(migrationAddress);
  }

  async migrateDiskAndPowerOff(
    instance: InstancePayload,
    destHost: string,
    timeoutSec: number,
  ): Promise<DiskSource | null> {
    const { uuid } = instance;
    const spec = this.h.spec(uuid);
    if (spec.rescue) throw new InstanceInvalidState(`guest ${uuid} is rescued; unrescue it before moving it`);
    await this.refuseShrink(spec, instance);
    if (this.h.isRunning(uuid)) await this.h.powerOff(uuid, timeoutSec);
    const sameHost = destHost === this.h.host();
    if (sameHost) {
      const backup = backupOf(this.h.instancesPath, uuid);
      await rm(backup.directory, { recursive: true, force: true });
      await mkdir(backup.directory, { recursive: true });
      for (const file of diskFiles(spec)) await copyFile(file, backup.file(file));
      await writeFile(backup.spec, JSON.stringify(spec), { mode: 0o600 });
    }
    spec.move = { sameHost };
    await this.h.save(spec);
    if (sameHost) return null;
    const root = rootDisk(spec);
    const links = (spec.diskSnapshots ?? []).map((link) => ({
      id: link.id,
      name: basename(link.path),
      path: link.path,
    }));
    const ephemeral = spec.disks.find((disk) => disk.role === 'ephemeral') ?? null;
    const files = new Map<string, string>([...links.map((l) => [l.name, l.path] as const)]);
    files.set(basename(root.path), root.path);
    if (ephemeral) files.set(basename(ephemeral.path), ephemeral.path);
    const manifest: Manifest = {
      links: links.map(({ id, name }) => ({ id, name })),
      root: basename(root.path),
      ephemeral: ephemeral ? basename(ephemeral.path) : null,
    };
    const url = await this.exports.offer(uuid, manifest, files);
    log.info(
      { instance: uuid, dest: destHost, files: files.size },
      'guest powered off; its disks wait for the destination',
    );
    return { url };
  }

  /** As libvirt's driver: a disk is never shrunk (its filesystem would be cut); the guest is left as it was. */
  private async refuseShrink(spec: GuestSpec, instance: InstancePayload): Promise<void> {
    const { root_gb: rootGb, ephemeral_gb: ephemeralGb } = instance.flavor;
    const current = (await this.h.qemuImg.info(rootDisk(spec).path)).virtualSize;
    if (rootGb > 0 && rootGb * GiB < current) {
      throw new ResizeError(
        `Unable to resize disk down: root disk of ${Math.ceil(current / GiB)} GiB to ${rootGb} GiB.`,
      );
    }
    const ephemeral = spec.disks.find((disk) => disk.role === 'ephemeral');
    const ephemeralSize = ephemeral ? (await stat(ephemeral.path)).size : 0;
    if (ephemeralGb * GiB < ephemeralSize) {
      throw new ResizeError(
        `Unable to resize disk down: ephemeral disk of ${Math.ceil(ephemeralSize / GiB)} GiB to ${ephemeralGb} GiB.`,
      );
    }
  }

  async finishMigration(
    instance: InstancePayload,
    node: string,
    networkInfo: NetworkInfo,
    powerOn: boolean,
    diskSource: DiskSource | null,
  ): Promise<void> {
    if (node !== this.h.host()) throw new ResizeError(`node ${node} is not on host ${this.h.host()}`);
    const { uuid } = instance;
    if (this.h.has(uuid)) {
      const spec = this.h.spec(uuid);
      if (!spec.move?.sameHost) throw new ResizeError(`guest ${uuid} already exists on host ${this.h.host()}`);
      // The same host: the guest takes the new flavor in place, its old disks in the backup.
      await this.h.stop(uuid);
      await this.takeFlavor(spec, instance, networkInfo);
      await this.h.save(spec);
    } else {
      if (!diskSource) throw new ResizeError(`the source host handed over no disks of guest ${uuid} to fetch`);
      await this.receive(instance, node, networkInfo, diskSource);
    }
    if (powerOn) await this.h.start(uuid);
    log.info({ instance: uuid, node, started: powerOn }, 'guest set up at the destination of its move');
  }

  /** The guest's disks pulled from the source and set up here; on failure nothing of it is left here. */
  private async receive(
    instance: InstancePayload,
    node: string,
    networkInfo: NetworkInfo,
    source: DiskSource,
  ): Promise<void> {
    const { uuid } = instance;
    const paths = guestPaths(this.h.instancesPath, uuid);
    const directory = diskDirectory(this.h.storagePools, instance);
    if (await exists(paths.directory))
      throw new ResizeError(`host ${this.h.host()} already has files of guest ${uuid}`);
    try {
      await mkdir(paths.directory, { recursive: true });
      await mkdir(directory, { recursive: true });
      // The base first: an image the destination cannot get fails the move before any copy.
      const image = await fetchGuestImage(instance, this.h.imageCache);
      const manifest = parseManifest(await fetchManifest(source.url));
      const names = [...manifest.links.map((link) => link.name), manifest.root, manifest.ephemeral ?? []].flat();
      for (const name of names) await fetchFile(source.url, name, join(directory, name));
      // Each overlay's backing file named anew: the lowest on this host's copy of the base image.
      let backing = { path: image.root.path, format: image.root.format as string };
      for (const name of [...manifest.links.map((link) => link.name), manifest.root]) {
        const path = join(directory, name);
        await this.h.qemuImg.repointBacking(path, backing.path, backing.format);
        backing = { path, format: 'qcow2' };
      }
      const disks: GuestDisk[] = [{ path: join(directory, manifest.root), format: 'qcow2', role: 'root' }];
      if (manifest.ephemeral)
        disks.push({ path: join(directory, manifest.ephemeral), format: 'raw', role: 'ephemeral' });
      const spec = guestSpecOf(instance, node, directory, image, disks);
      spec.diskSnapshots = manifest.links.map((link) => ({ id: link.id, path: join(directory, link.name) }));
      await this.takeFlavor(spec, instance, networkInfo);
      await this.h.save(spec);
    } catch (err) {
      await this.h.destroy(uuid).catch(() => undefined);
      await rm(directory, { recursive: true, force: true });
      await rm(paths.directory, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * The guest's size becomes the flavor's: CPUs, memory and QoS; the root disk grown (never shrunk:
   * migrateDiskAndPowerOff refused that); an ephemeral disk made if the flavor adds one, its file grown
   * if it grows (its filesystem is the guest's to grow), dropped if the flavor has none; swap made anew.
   */
  private async takeFlavor(spec: GuestSpec, instance: InstancePayload, networkInfo: NetworkInfo): Promise<void> {
    const { flavor } = instance;
    const root = rootDisk(spec);
    const wanted = flavor.root_gb * GiB;
    if (wanted > (await this.h.qemuImg.info(root.path)).virtualSize) await this.h.qemuImg.grow(root.path, wanted);
    const kept: GuestDisk[] = [root];
    const ephemeral = spec.disks.find((disk) => disk.role === 'ephemeral');
    if (flavor.ephemeral_gb > 0 && ephemeral) {
      if ((await stat(ephemeral.path)).size < flavor.ephemeral_gb * GiB) {
        await truncate(ephemeral.path, flavor.ephemeral_gb * GiB);
      }
      kept.push(ephemeral);
    } else if (flavor.ephemeral_gb > 0) {
      const path = join(spec.diskDirectory, 'disk.eph0');
      await createEphemeralDisk(path, flavor.ephemeral_gb);
      kept.push({ path, format: 'raw', role: 'ephemeral' });
    } else if (ephemeral) await rm(ephemeral.path, { force: true });
    await rm(join(spec.diskDirectory, 'disk.swap'), { force: true });
    if (flavor.swap > 0) kept.push(await createSwapDisk(spec.diskDirectory, flavor.swap));
    spec.disks = kept;
    spec.vcpus = flavor.vcpus;
    spec.memoryMb = flavor.memory_mb;
    spec.qos = this.h.chooseQos(instance, spec.uuid);
    spec.nics = guestNics(networkInfo);
  }

  async confirmMigration(uuid: string): Promise<void> {
    if (!this.h.has(uuid)) return;
    const spec = this.h.spec(uuid);
    if (!spec.move) return;
    if (!spec.move.sameHost) {
      this.exports.withdraw(uuid);
      await this.h.destroy(uuid);
      log.info({ instance: uuid }, 'move confirmed: the guest left here is removed');
      return;
    }
    await rm(backupOf(this.h.instancesPath, uuid).directory, { recursive: true, force: true });
    delete spec.move;
    await this.h.save(spec);
  }

  async finishRevertMigration(instance: InstancePayload, networkInfo: NetworkInfo, powerOn: boolean): Promise<void> {
    const { uuid } = instance;
    let spec = this.h.spec(uuid);
    this.exports.withdraw(uuid);
    if (spec.move?.sameHost) {
      // The guest as it was: its old disks and guest.json back from the backup.
      const backup = backupOf(this.h.instancesPath, uuid);
      await this.h.stop(uuid);
      const before = JSON.parse(await readFile(backup.spec, 'utf8')) as GuestSpec;
      const kept = new Set(diskFiles(before));
      for (const file of diskFiles(spec)) if (!kept.has(file)) await rm(file, { force: true });
      for (const file of kept) await copyFile(backup.file(file), file);
      await rm(backup.directory, { recursive: true, force: true });
      spec = before;
    }
    delete spec.move;
    spec.nics = guestNics(networkInfo);
    await this.h.save(spec);
    if (powerOn && !this.h.isRunning(uuid)) await this.h.start(uuid);
    log.info({ instance: uuid, started: powerOn }, 'move reverted: the guest is back as it was');
  }

  /** Stops serving every export (the compute service stops; a move in flight then fails and is reverted). */
  close(): Promise<void> {
    return this.exports.close();
  }
}

function rootDisk(spec: GuestSpec): GuestDisk {
  const root = spec.disks.find((disk) => disk.role === 'root');
  if (!root) throw new ResizeError(`guest ${spec.uuid} has no root disk`);
  return root;
}

/** The source's manifest, checked: a destination writes only the plain file names it names. */
function parseManifest(value: unknown): Manifest {
  const m = value as Partial<Manifest> | null;
  const ok =
    !!m &&
    typeof m.root === 'string' &&
    isExportName(m.root) &&
    (m.ephemeral === null || (typeof m.ephemeral === 'string' && isExportName(m.ephemeral))) &&
    Array.isArray(m.links) &&
    m.links.every((l) => typeof l?.id === 'string' && typeof l.name === 'string' && isExportName(l.name));
  if (!ok) throw new ResizeError('the source host sent a manifest of the disks that cannot be read');
  return m as Manifest;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
