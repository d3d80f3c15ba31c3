/**
 * Builds a new guest from its instance: the images from the host's cache (the root disk, and for AMI-style
 * images the kernel and ramdisk its properties name), a qcow2 overlay on the root image grown to the
 * flavor's root_gb, and the flavor's ephemeral (ext4) and swap disks, all in the instance's disk directory.
 * Returns what the guest is made of; the caller writes it beside the guest and removes the directory if
 * anything fails.
 */
import { execFile } from 'node:child_process';
import { rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BuildAborted } from '../../../common/errors.ts';
import { ImageMissing } from '../../image/image-client.ts';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import { guestAgentOf } from './guest-agent.ts';
import type { GuestDisk, GuestSpec } from './guest-spec.ts';
import type { CachedImage, ImageCache } from './image-cache.ts';
import type { QemuImg } from './qemu-img.ts';

const run = promisify(execFile);
const GiB = 1024 ** 3;

/** The kernel or ramdisk an AMI-style image names; a missing one says which property named it. */
async function bootFile(cache: ImageCache, rootId: string, id: string, kind: 'aki' | 'ari') {
  try {
    return await cache.bootFile(id, kind);
  } catch (err) {
    if (!(err instanceof ImageMissing)) throw err;
    const property = kind === 'aki' ? 'kernel_id' : 'ramdisk_id';
    throw new ImageMissing(`image ${rootId} names ${id} as its ${property}, but ${err.message}`);
  }
}

/**
 * What a disk image boots with besides itself: for AMI-style images, the kernel and ramdisk its properties
 * name and its command line (direct kernel boot); nothing for an image that boots on its own.
 */
export async function directBoot(
  cache: ImageCache,
  root: CachedImage,
): Promise<{ kernel: CachedImage | null; ramdisk: CachedImage | null; commandLine: string | null }> {
  const props = root.image.properties;
  const kernel = props['kernel_id'] ? await bootFile(cache, root.image.id, props['kernel_id'], 'aki') : null;
  const ramdisk = props['ramdisk_id'] ? await bootFile(cache, root.image.id, props['ramdisk_id'], 'ari') : null;
  const commandLine = props['os_command_line'] ?? (kernel ? 'root=/dev/vda console=tty0 console=ttyS0' : null);
  return { kernel, ramdisk, commandLine };
}

/** The cached files a guest boots from, for its instance's image_ref and flavor. */
export interface GuestImage {
  root: CachedImage;
  /** The root disk's size: the flavor's root_gb, or the image's own size for a zero-disk flavor. */
  rootBytes: number | undefined;
  kernel: string | null;
  ramdisk: string | null;
  commandLine: string | null;
  baseFiles: string[];
}

/** Fetches the instance's image (and an AMI-style kernel and ramdisk) into the cache; checks the flavor holds it. */
export async function fetchGuestImage(instance: InstancePayload, cache: ImageCache): Promise<GuestImage> {
  const root = await cache.disk(instance.image_ref);
  const { kernel, ramdisk, commandLine } = await directBoot(cache, root);
  const { flavor } = instance;
  const baseSize = await cache.virtualSize(root);
  const wanted = flavor.root_gb * GiB;
  if (wanted > 0 && wanted < baseSize) {
    throw new BuildAborted(
      `flavor ${flavor.name} has a ${flavor.root_gb} GB root disk, smaller than image ${root.image.id} ` +
        `(${Math.ceil(baseSize / GiB)} GB virtual size); choose a larger flavor`,
    );
  }
  return {
    root,
    rootBytes: wanted > 0 ? wanted : undefined,
    kernel: kernel?.path ?? null,
    ramdisk: ramdisk?.path ?? null,
    commandLine,
    baseFiles: [root.path, ...(kernel ? [kernel.path] : []), ...(ramdisk ? [ramdisk.path] : [])],
  };
}

/** A new empty ephemeral disk: Nova formats it for the guest; ext4, sparse, so only written blocks take space. */
export async function createEphemeralDisk(path: string, sizeGb: number): Promise<void> {
  await run('mkfs.ext4', ['-q', '-F', '-L', 'ephemeral0', path, `${sizeGb}G`]);
}

/** A new swap disk of `sizeMb` in `directory` (swap holds nothing across a power-off, so is never copied). */
export async function createSwapDisk(directory: string, sizeMb: number): Promise<GuestDisk> {
  const path = join(directory, 'disk.swap');
  await rm(path, { force: true });
  await writeFile(path, '');
  await truncate(path, sizeMb * 1024 ** 2);
  await run('mkswap', ['-L', 'swap0', path]);
  return { path, format: 'raw', role: 'swap' };
}

export async function buildGuest(
  instance: InstancePayload,
  node: string,
  directory: string,
  cache: ImageCache,
  qemuImg: QemuImg,
): Promise<GuestSpec> {
  const image = await fetchGuestImage(instance, cache);
  const { flavor } = instance;
  const disks: GuestDisk[] = [{ path: join(directory, 'disk'), format: 'qcow2', role: 'root' }];
  await qemuImg.createOverlay(image.root.path, image.root.format, disks[0]!.path, image.rootBytes);
  if (flavor.ephemeral_gb > 0) {
    const path = join(directory, 'disk.eph0');
    await createEphemeralDisk(path, flavor.ephemeral_gb);
    disks.push({ path, format: 'raw', role: 'ephemeral' });
  }
  if (flavor.swap > 0) disks.push(await createSwapDisk(directory, flavor.swap));
  return guestSpecOf(instance, node, directory, image, disks);
}

/** The spec of a guest of `instance` on `node`, of these disks in `directory`, booting from `image`. */
export function guestSpecOf(
  instance: InstancePayload,
  node: string,
  directory: string,
  image: GuestImage,
  disks: GuestDisk[],
): GuestSpec {
  const agent = guestAgentOf(image.root.image.properties);
  return {
    uuid: instance.uuid,
    nodename: node,
    vcpus: instance.flavor.vcpus,
    memoryMb: instance.flavor.memory_mb,
    disks,
    diskDirectory: directory,
    kernel: image.kernel,
    ramdisk: image.ramdisk,
    commandLine: image.commandLine,
    baseFiles: image.baseFiles,
    ...(agent ? { guestAgent: agent } : {}),
  };
}
