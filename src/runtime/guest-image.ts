/**
 * The demo guest of an all-in-one cloud: built by scripts/build-guest-image.sh when missing, then
 * uploaded through the image API (the normal path) as three public images, AMI-style:
 *   stratus-guest-kernel (aki), stratus-guest-ramdisk (ari), and stratus-guest, a qcow2 root disk whose
 *   kernel_id, ramdisk_id and os_command_line properties name the other two.
 * Nothing is uploaded when an active `stratus-guest` image exists already.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../common/package-root.ts';
import type { ServiceTokenSource } from '../compute/image/service-token.ts';

const run = promisify(execFile);

export const GUEST_IMAGE_NAME = 'stratus-guest';

export interface GuestImageFiles {
  kernel: string;
  ramdisk: string;
  root: string;
  commandLine: string;
}

/** Builds the guest into `directory` (the script skips the work when its cached output is current). */
export async function buildGuestImage(directory: string): Promise<GuestImageFiles> {
  try {
    await run('bash', [join(packageRoot(), 'scripts', 'build-guest-image.sh'), directory], {
      maxBuffer: 4 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`cannot build the demo guest image: ${(e.stderr || e.message).trim()}`);
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
  tokens: ServiceTokenSource,
  imageApi: string | null,
  files: GuestImageFiles,
): Promise<{ id: string; uploaded: boolean }> {
  const { token, imageEndpoint } = await tokens.get();
  const base = (imageApi ?? imageEndpoint ?? '').replace(/\/$/, '');
  if (!base) throw new Error('no image API endpoint to upload the demo guest to');
  const api = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-auth-token': token, 'content-type': contentType },
      ...(body === undefined ? {} : { body: body instanceof Buffer ? body : JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`image API: ${method} ${path} answered HTTP ${response.status}`);
    return response.status === 204 ? null : ((await response.json()) as Record<string, unknown>);
  };
  const existing = (await api('GET', `/v2/images?name=${GUEST_IMAGE_NAME}&status=active`)) as {
    images: { id: string }[];
  };
  if (existing.images[0]) return { id: existing.images[0].id, uploaded: false };
  const upload = async (name: string, format: string, path: string, properties: Record<string, string> = {}) => {
    const image = (await api('POST', '/v2/images', {
      name,
      disk_format: format,
      container_format: format === 'aki' || format === 'ari' ? format : 'bare',
      visibility: 'public',
      ...properties,
    })) as { id: string };
    await api('PUT', `/v2/images/${image.id}/file`, await readFile(path), 'application/octet-stream');
    return image.id;
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
