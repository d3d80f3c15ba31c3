/**
 * A rescue image for the qemu tests: the demo guest's root disk with another /sbin/init, written with
 * debugfs (no mount, no root). Its init prints RESCUE_MARKER on the serial console, followed by what it
 * finds on the second disk: `second-disk=original-root` when /dev/vdb mounts and holds the demo guest's
 * own init (the rescued server's disk), `second-disk=none` otherwise.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GUEST_MARKER } from './guest-image.ts';

const run = promisify(execFile);

export const RESCUE_MARKER = 'STRATUS-RESCUE-READY';

const RESCUE_INIT = `#!/bin/busybox sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2> /dev/null
i=0
while [ ! -b /dev/vdb ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt
second=none
if mount -o ro -t ext4 /dev/vdb /mnt 2> /dev/null && grep -q ${GUEST_MARKER} /mnt/sbin/init; then second=original-root; fi
echo "${RESCUE_MARKER} second-disk=$second" > /dev/ttyS0
while :; do sleep 3600; done
`;

/** Makes `work/rescue.qcow2` from the demo guest's root disk `root`; returns its path. */
export async function buildRescueImage(root: string, work: string): Promise<string> {
  const raw = join(work, 'rescue.raw');
  const init = join(work, 'rescue-init');
  const commands = join(work, 'rescue-debugfs');
  await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', root, raw]);
  await writeFile(init, RESCUE_INIT);
  await writeFile(commands, `rm /sbin/init\nwrite ${init} /sbin/init\nsif /sbin/init mode 0100755\n`);
  await run('debugfs', ['-w', '-f', commands, raw]);
  const image = join(work, 'rescue.qcow2');
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, image]);
  return image;
}
