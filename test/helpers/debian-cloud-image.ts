/**
 * The Debian 12 cloud guest (scripts/build-debian-cloud-image.sh), cached outside the checkout so that a
 * machine builds it once (CI clones afresh each run): ${XDG_CACHE_HOME:-~/.cache}/stratus/debian-cloud.
 * scripts/ensure-services.sh builds it before the tests; a test run without it builds it on first use
 * (about 12 minutes, as root, with a Debian mirror at hand).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { buildGuestImage, type GuestImageFiles } from '../../src/runtime/guest-image.ts';

export function debianCloudImageDirectory(): string {
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'stratus', 'debian-cloud');
}

export function debianCloudImage(): Promise<GuestImageFiles> {
  return buildGuestImage(
    debianCloudImageDirectory(),
    'build-debian-cloud-image.sh',
    'the Debian cloud image (scripts/build-debian-cloud-image.sh, run as root)',
  );
}

/** What cloud-init's final stage prints on the console once the boot, user data included, is done. */
export const CLOUD_INIT_FINISHED = /Cloud-init v\. \S+ finished at/;

/**
 * How long a test waits for cloud-init to finish. A full distribution under TCG boots much slower than the
 * demo guest: on the 2-core test machine shared with other work (load ~20) it took 4 to 11 minutes, all of
 * it kernel, systemd and Python (cloud-init) at emulated speed. The wait bounds a hang; it times nothing.
 */
export const DEBIAN_BOOT_WAIT_MS = 20 * 60_000;
