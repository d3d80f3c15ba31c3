/**
 * The host's image cache (Nova's `_base` directory): each image is downloaded once from the image API,
 * verified against its checksum, checked to be what it claims to be, converted to qcow2 when qemu should
 * not back a guest onto its format directly, and kept under a name made of the image id and checksum, so
 * a re-uploaded image never reuses stale bytes. Concurrent builds of one image share one download. Files
 * no guest uses are removed after a minimum age (remove_unused_base_images).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildAborted } from '../../../common/errors.ts';
import { getLogger } from '../../../common/log/logger.ts';
import type { ImageMeta, ImageSource } from '../../image/image-client.ts';
import type { QemuImg } from './qemu-img.ts';

const log = getLogger('compute.image_cache');

/** An image ready on this host: a path, and the format qemu must open it with. */
export interface CachedImage {
  path: string;
  format: 'raw' | 'qcow2';
  image: ImageMeta;
}

/** What a fetch came to: the cached image, and whether this fetch (or one it joined) downloaded it. */
interface Fetched {
  cached: CachedImage;
  downloaded: boolean;
}

/** The image cannot be booted as it is (wrong or unsupported format, backing file, not active). */
export class ImageUnacceptable extends BuildAborted {}

/** disk_format -> the qemu-img format its content must probe as, and whether to convert it to qcow2. */
const DISK_FORMATS: Record<string, { probe: string; convert: boolean }> = {
  raw: { probe: 'raw', convert: false },
  ami: { probe: 'raw', convert: false },
  iso: { probe: 'raw', convert: false },
  qcow2: { probe: 'qcow2', convert: false },
  vmdk: { probe: 'vmdk', convert: true },
  vdi: { probe: 'vdi', convert: true },
  vhd: { probe: 'vpc', convert: true },
  vhdx: { probe: 'vhdx', convert: true },
};

export class ImageCache {
  private readonly inFlight = new Map<string, Promise<Fetched>>();
  /**
   * Virtual sizes of cached files. A cached file never changes (its name is its image's checksum), so
   * each is probed once rather than by a `qemu-img` process per build.
   */
  private readonly virtualSizes = new Map<string, number>();

  constructor(
    readonly directory: string,
    private readonly images: ImageSource,
    private readonly qemuImg: QemuImg,
  ) {}

  /** A bootable disk image: verified, its format checked, qcow2 or raw. */
  async disk(imageId: string): Promise<CachedImage> {
    return (await this.fetch(imageId, 'disk')).cached;
  }

  /**
   * Pre-caching (an aggregate's image cache request): the image made ready as a disk, as a build would.
   * True when it had to be downloaded, false when the cache already held it.
   */
  async preload(imageId: string): Promise<boolean> {
    return (await this.fetch(imageId, 'disk')).downloaded;
  }

  /** The virtual size in bytes of a disk this cache holds. */
  async virtualSize(cached: CachedImage): Promise<number> {
    let size = this.virtualSizes.get(cached.path);
    if (size === undefined) {
      size = (await this.qemuImg.info(cached.path)).virtualSize;
      this.virtualSizes.set(cached.path, size);
    }
    return size;
  }

  /** A kernel (aki) or ramdisk (ari) image for direct kernel boot: verified bytes, used as a file. */
  async bootFile(imageId: string, kind: 'aki' | 'ari'): Promise<CachedImage> {
    return (await this.fetch(imageId, kind)).cached;
  }

  private async fetch(imageId: string, kind: 'disk' | 'aki' | 'ari'): Promise<Fetched> {
    const image = await this.images.getImage(imageId);
    if (image.status !== 'active') {
      throw new ImageUnacceptable(`image ${imageId} is ${image.status}, not active; it has no data to boot from`);
    }
    const key = cacheKey(image);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const work = this.ensure(image, key, kind).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, work);
    return work;
  }

  private async ensure(image: ImageMeta, key: string, kind: 'disk' | 'aki' | 'ari'): Promise<Fetched> {
    const declared = image.diskFormat ?? '';
    if (kind !== 'disk' && declared !== kind) {
      throw new ImageUnacceptable(
        `image ${image.id} is named as the ${kind === 'aki' ? 'kernel' : 'ramdisk'} (disk_format ${kind}) ` +
          `but its disk_format is ${declared}`,
      );
    }
    const rule = kind === 'disk' ? DISK_FORMATS[declared] : { probe: 'raw', convert: false };
    if (!rule) {
      throw new ImageUnacceptable(
        `image ${image.id} has disk_format '${declared}', which the qemu driver cannot boot; ` +
          `use one of ${Object.keys(DISK_FORMATS).join(', ')}`,
      );
    }
    const format = rule.probe === 'qcow2' || rule.convert ? 'qcow2' : 'raw';
    const path = join(this.directory, `${key}.${kind === 'disk' ? format : kind}`);
    if (await exists(path)) {
      const now = new Date();
      await utimes(path, now, now); // last use, for the age-out
      return { cached: { path, format, image }, downloaded: false };
    }
    await mkdir(this.directory, { recursive: true });
    const part = join(this.directory, `${key}.part-${randomUUID()}`);
    try {
      log.info({ image: image.id, size: image.size }, 'downloading image into the cache');
      await this.images.download(image, part);
      if (kind === 'disk') await this.checkContent(image, part, rule.probe);
      if (rule.convert) {
        const converted = `${part}.qcow2`;
        try {
          await this.qemuImg.convert(part, rule.probe, converted, 'qcow2');
        } catch (err) {
          await rm(converted, { force: true });
          throw err;
        }
        await rm(part, { force: true });
        await rename(converted, path);
      } else {
        await rename(part, path);
      }
    } finally {
      await rm(part, { force: true });
    }
    return { cached: { path, format, image }, downloaded: true };
  }

  /** The bytes must probe as the declared format, and a qcow2 must not point at a file of the host. */
  private async checkContent(image: ImageMeta, path: string, expected: string): Promise<void> {
    const info = await this.qemuImg.info(path);
    if (info.format !== expected) {
      throw new ImageUnacceptable(
        `image ${image.id} declares disk_format ${image.diskFormat ?? ''} but its data is ${info.format}; ` +
          'set the disk_format that matches the file',
      );
    }
    if (info.backingFilename) {
      throw new ImageUnacceptable(`image ${image.id} refers to a backing file; upload a standalone image`);
    }
  }

  /**
   * Removes cached files that no guest uses and that were last used more than `minAgeSec` ago
   * (Nova's remove_unused_original_minimum_age_seconds); half-finished downloads of that age too.
   */
  async removeUnused(inUse: ReadonlySet<string>, minAgeSec: number): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch {
      return [];
    }
    const removed: string[] = [];
    const cutoff = Date.now() - minAgeSec * 1000;
    for (const name of names) {
      const path = join(this.directory, name);
      if (inUse.has(path) || [...this.inFlight.keys()].some((key) => name.startsWith(key))) continue;
      const info = await stat(path).catch(() => null);
      if (!info || info.mtimeMs > cutoff) continue;
      await rm(path, { force: true });
      this.virtualSizes.delete(path);
      removed.push(path);
      log.info({ path }, 'removed an unused base image');
    }
    return removed;
  }
}

function cacheKey(image: ImageMeta): string {
  const digest = image.checksum ?? image.osHashValue?.slice(0, 32) ?? 'nochecksum';
  return `${image.id}-${digest}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
