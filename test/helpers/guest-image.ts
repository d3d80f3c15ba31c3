/** The demo guest (scripts/build-guest-image.sh), built once into the project's .cache and shared by tests. */
import { join } from 'node:path';
import { packageRoot } from '../../src/common/package-root.ts';
import { buildGuestImage, type GuestImageFiles } from '../../src/runtime/guest-image.ts';
import type { OpenstackCli } from './openstack-cli.ts';

const CACHE = join(packageRoot(), '.cache', 'guest-image');

export function guestImage(): Promise<GuestImageFiles> {
  return buildGuestImage(CACHE);
}

/** The line the guest's init prints on its serial console once it runs. */
export const GUEST_MARKER = 'STRATUS-GUEST-READY';

/** How long an end-to-end test waits for a guest to boot: emulated speed, slower while the suite shares the CPUs. */
export const GUEST_BOOT_WAIT_MS = 150_000;

/** How many times a console text shows the marker: once per boot of the guest. */
export function markerCount(consoleText: string): number {
  return consoleText.split(GUEST_MARKER).length - 1;
}

/**
 * Uploads the demo guest through the CLI as `name`, with its kernel and ramdisk as images of their own
 * (what the all-in-one's bootstrap does by itself; a multi-process deployment's test does it).
 */
export async function uploadGuestImage(cli: OpenstackCli, name: string): Promise<string> {
  const files = await guestImage();
  const image = (imageName: string, ...args: string[]) =>
    cli.json<{ id: string }>('image', 'create', '--container-format', 'bare', ...args, imageName);
  const kernel = await image(`${name}-kernel`, '--disk-format', 'aki', '--file', files.kernel);
  const ramdisk = await image(`${name}-ramdisk`, '--disk-format', 'ari', '--file', files.ramdisk);
  const root = await image(
    name,
    ...['--disk-format', 'qcow2', '--file', files.root],
    ...['--property', `kernel_id=${kernel.id}`, '--property', `ramdisk_id=${ramdisk.id}`],
    ...['--property', `os_command_line=${files.commandLine}`],
  );
  return root.id;
}
