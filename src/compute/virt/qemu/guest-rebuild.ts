/**
 * The disks of a rebuilt guest (the guest's qemu is stopped): a new root disk, a copy-on-write overlay of
 * the new image fetched into the image cache as a build does; the ephemeral disk kept or made anew and
 * empty; the swap disk kept (it holds nothing across boots). The root disk's snapshot links belong to the
 * old disk and go with it. New files get names of their own beside the old ones and the spec is changed
 * only once they all exist, so a failure leaves the guest on its old disks; the caller writes guest.json
 * and then removes the files this returns.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import { createEphemeralDisk, fetchGuestImage } from './guest-builder.ts';
import { guestAgentOf } from './guest-agent.ts';
import type { GuestSpec } from './guest-spec.ts';
import type { ImageCache } from './image-cache.ts';
import type { QemuImg } from './qemu-img.ts';

/** Recreates the guest's disks from `instance.image_ref` into `spec`; returns the files no longer used. */
export async function recreateGuestDisks(
  spec: GuestSpec,
  instance: InstancePayload,
  cache: ImageCache,
  qemuImg: QemuImg,
  preserveEphemeral: boolean,
): Promise<string[]> {
  const image = await fetchGuestImage(instance, cache);
  const created: string[] = [];
  const replaced = new Map<string, string>();
  try {
    for (const disk of spec.disks) {
      if (disk.role === 'swap' || (disk.role === 'ephemeral' && preserveEphemeral)) continue;
      const path = join(spec.diskDirectory, `${disk.role === 'root' ? 'disk' : 'disk.eph0'}.${randomUUID()}`);
      created.push(path);
      if (disk.role === 'root') await qemuImg.createOverlay(image.root.path, image.root.format, path, image.rootBytes);
      else await createEphemeralDisk(path, instance.flavor.ephemeral_gb);
      replaced.set(disk.path, path);
    }
  } catch (err) {
    for (const path of created) await rm(path, { force: true });
    throw err;
  }
  const discarded = [...replaced.keys(), ...(spec.diskSnapshots ?? []).map((link) => link.path)];
  if (spec.pendingDiskSnapshot) discarded.push(spec.pendingDiskSnapshot.overlay);
  for (const disk of spec.disks) disk.path = replaced.get(disk.path) ?? disk.path;
  spec.diskSnapshots = [];
  delete spec.pendingDiskSnapshot;
  spec.kernel = image.kernel;
  spec.ramdisk = image.ramdisk;
  spec.commandLine = image.commandLine;
  spec.baseFiles = image.baseFiles;
  // The new image decides whether the guest has the agent's channel (taken on its next start).
  const agent = guestAgentOf(image.root.image.properties);
  if (agent) spec.guestAgent = agent;
  else delete spec.guestAgent;
  return discarded;
}
