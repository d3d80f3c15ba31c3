/** The demo guest (scripts/build-guest-image.sh), built once into the project's .cache and shared by tests. */
import { fileURLToPath } from 'node:url';
import { buildGuestImage, type GuestImageFiles } from '../../src/runtime/guest-image.ts';

const CACHE = fileURLToPath(new URL('../../.cache/guest-image', import.meta.url));

export function guestImage(): Promise<GuestImageFiles> {
  return buildGuestImage(CACHE);
}

/** The line the guest's init prints on its serial console once it runs. */
export const GUEST_MARKER = 'STRATUS-GUEST-READY';
