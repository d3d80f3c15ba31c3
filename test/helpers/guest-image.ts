/** The demo guest (scripts/build-guest-image.sh), built once into the project's .cache and shared by tests. */
import { join } from 'node:path';
import { packageRoot } from '../../src/common/package-root.ts';
import { buildGuestImage, type GuestImageFiles } from '../../src/runtime/guest-image.ts';

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
