/**
 * The demo guest of an all-in-one cloud: built by scripts/build-guest-image.sh when missing, then
 * uploaded through the image API (the normal path) as three public images, AMI-style:
 *   stratus-guest-kernel (aki), stratus-guest-ramdisk (ari), and stratus-guest, a qcow2 root disk whose
 *   kernel_id, ramdisk_id and os_command_line properties name the other two.
 * Nothing is uploaded when an active `stratus-guest` image exists already.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../common/package-root.ts';
import type { ImageClient } from '../compute/image/image-client.ts';

const run = promisify(execFile);

export const GUEST_IMAGE_NAME = 'stratus-guest';

export interface GuestImageFiles {
  kernel: string;
  ramdisk: string;
  root: string;
  commandLine: string;
}

/**
 * Builds a guest into `directory` with one of the project's scripts: the demo guest by default, or
 * build-debian-cloud-image.sh (the script skips the work when its cached output is current). Both
 * leave the same files, AMI-style.
 */
export async function buildGuestImage(
  directory: string,
  script = 'build-guest-image.sh',
  what = 'the demo guest image',
): Promise<GuestImageFiles> {
  try {
    await run('bash', [join(packageRoot(), 'scripts', script), directory], {
      maxBuffer: 4 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`cannot build ${what}: ${(e.stderr || e.message).trim()}`);
  }
  return {
    kernel: join(directory, 'vmlinuz'),
    ramdisk: join(directory, 'initrd.img'),
    root: join(directory, 'root.qcow2'),
    commandLine: (await readFile(join(directory, 'cmdline'), 'utf8')).trim(),
  };
}

/** Uploads the guest unless an active image of that name exists; returns the root image's id. */
export async function uploadGuestImage(
  images: ImageClient,
  files: GuestImageFiles,
): Promise<{ id: string; uploaded: boolean }> {
  const existing = await images.findActive(GUEST_IMAGE_NAME);
  if (existing) return { id: existing, uploaded: false };
  const upload = async (name: string, format: string, path: string, properties: Record<string, string> = {}) => {
    const containerFormat = format === 'aki' || format === 'ari' ? format : 'bare';
    const id = await images.create({
      name,
      disk_format: format,
      container_format: containerFormat,
      visibility: 'public',
      ...properties,
    });
    await images.upload(id, createReadStream(path), { diskFormat: format, containerFormat });
    return id;
  };
  const kernelId = await upload(`${GUEST_IMAGE_NAME}-kernel`, 'aki', files.kernel);
  const ramdiskId = await upload(`${GUEST_IMAGE_NAME}-ramdisk`, 'ari', files.ramdisk);
  const id = await upload(GUEST_IMAGE_NAME, 'qcow2', files.root, {
    kernel_id: kernelId,
    ramdisk_id: ramdiskId,
    os_command_line: files.commandLine,
  });
  return { id, uploaded: true };
}
