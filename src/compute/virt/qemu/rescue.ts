/**
 * Rescue for the qemu driver (Nova's libvirt rescue): the guest's qemu is stopped and started again
 * booting a rescue disk, a qcow2 overlay of the cached rescue image in the guest's disk directory
 * (`disk.rescue`), with the guest's own root disk as the second disk (vdb), so a broken system can be
 * repaired from a working one. An AMI-style rescue image boots its own kernel and ramdisk. Unrescue ends
 * that qemu, removes the rescue disk and boots the guest's own disk again.
 *
 * guest.json records the rescue (GuestSpec.rescue) before anything is changed, so every step can be
 * repeated: a restarted compute service completes a rescue that had begun, and starts a rescued guest
 * (power on, reboot) on the rescue disk again, as the record says it is.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { getLogger } from '../../../common/log/logger.ts';
import { directBoot } from './guest-builder.ts';
import { writeGuestSpec, type GuestSpec } from './guest-spec.ts';
import type { ImageCache } from './image-cache.ts';
import type { QemuImg } from './qemu-img.ts';

const log = getLogger('compute.qemu.rescue');

/** The rescue disk's file name in the guest's disk directory (Nova's disk.rescue). */
export const RESCUE_DISK = 'disk.rescue';

/** What rescue needs of the driver's guests: their records, and starting and stopping their qemu. */
export interface RescueHost {
  readonly imageCache: ImageCache;
  readonly qemuImg: QemuImg;
  spec(uuid: string): { spec: GuestSpec; specPath: string };
  isRunning(uuid: string): boolean;
  /** A clean power-off within `timeoutSec`, then a forced one. */
  powerOff(uuid: string, timeoutSec: number): Promise<void>;
  /** Ends qemu at once (what the rescue guest wrote to its own disk is the user's business). */
  stop(uuid: string): Promise<void>;
  /** Starts qemu from guest.json (bootSpec decides what it boots). */
  start(uuid: string): Promise<void>;
}

/** What qemu boots for `spec`: while rescued, the rescue disk and boot files, then the guest's own root disk. */
export function bootSpec(spec: GuestSpec): GuestSpec {
  const rescue = spec.rescue;
  if (!rescue?.disk) return spec;
  const root = spec.disks.find((disk) => disk.role === 'root');
  return {
    ...spec,
    // Nova's rescue disk mapping: the rescue disk, then the original root; ephemeral and swap stay out.
    disks: [{ path: rescue.disk, format: 'qcow2', role: 'root' }, ...(root ? [root] : [])],
    kernel: rescue.kernel,
    ramdisk: rescue.ramdisk,
    commandLine: rescue.commandLine,
  };
}

export async function rescueGuest(host: RescueHost, uuid: string, imageRef: string, timeoutSec: number) {
  const { spec, specPath } = host.spec(uuid);
  if (spec.rescue?.disk && host.isRunning(uuid)) return;
  if (!spec.rescue) {
    spec.rescue = { imageRef, disk: null, kernel: null, ramdisk: null, commandLine: null, baseFiles: [] };
    await writeGuestSpec(specPath, spec);
  }
  const rescue = spec.rescue;
  await host.powerOff(uuid, timeoutSec);
  if (!rescue.disk) {
    const image = await host.imageCache.disk(rescue.imageRef);
    const boot = await directBoot(host.imageCache, image);
    const disk = join(spec.diskDirectory, RESCUE_DISK);
    await rm(disk, { force: true });
    await host.qemuImg.createOverlay(image.path, image.format, disk);
    Object.assign(rescue, {
      disk,
      kernel: boot.kernel?.path ?? null,
      ramdisk: boot.ramdisk?.path ?? null,
      commandLine: boot.commandLine,
      baseFiles: [image.path, ...(boot.kernel ? [boot.kernel.path] : []), ...(boot.ramdisk ? [boot.ramdisk.path] : [])],
    });
    await writeGuestSpec(specPath, spec);
  }
  await host.start(uuid);
  log.info({ instance: uuid, image: rescue.imageRef }, 'guest booted from its rescue disk');
}

/** Undoes a rescue; on a guest not rescued, only makes sure it runs (an unrescue a restart interrupted). */
export async function unrescueGuest(host: RescueHost, uuid: string): Promise<void> {
  const { spec, specPath } = host.spec(uuid);
  const rescue = spec.rescue;
  if (!rescue) {
    if (!host.isRunning(uuid)) await host.start(uuid);
    return;
  }
  await host.stop(uuid);
  delete spec.rescue;
  await writeGuestSpec(specPath, spec);
  if (rescue.disk) await rm(rescue.disk, { force: true });
  await host.start(uuid);
  log.info({ instance: uuid }, 'guest booted from its own disk again');
}

/** Cache files a guest's rescue holds, beside its own (image cache housekeeping keeps both). */
export function rescueBaseFiles(spec: GuestSpec): string[] {
  return spec.rescue?.baseFiles ?? [];
}
