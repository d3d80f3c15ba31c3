/**
 * Options of a qemu driver for tests: TCG without the start-up probe, one hdd pool in `instancesPath`,
 * the image cache under it, short timeouts; `extra` overrides any of them.
 */
import { join } from 'node:path';
import { ImageClient } from '../../src/compute/image/image-client.ts';
import type { ServiceTokenSource } from '../../src/compute/image/service-token.ts';
import { ImageCache } from '../../src/compute/virt/qemu/image-cache.ts';
import type { QemuDriverOptions } from '../../src/compute/virt/qemu/qemu-driver.ts';
import { QemuImg } from '../../src/compute/virt/qemu/qemu-img.ts';

export function testQemuDriverOptions(
  instancesPath: string,
  tokens: ServiceTokenSource,
  extra: Partial<QemuDriverOptions> = {},
): QemuDriverOptions {
  const qemuImg = new QemuImg();
  return {
    instancesPath,
    storagePools: [{ tier: 'hdd', directory: instancesPath, sizeGb: null }],
    virtType: 'qemu',
    binary: 'qemu-system-x86_64',
    machineType: 'pc',
    tcgTbSizeMb: 16,
    spawnTimeoutSec: 60,
    softRebootTimeoutSec: 60,
    imageCache: new ImageCache(join(instancesPath, '_base'), new ImageClient(tokens, []), qemuImg),
    qemuImg,
    snapshotsDirectory: join(instancesPath, 'snapshots'),
    imageCacheOptions: { removeUnused: true, minimumAgeSec: 0 },
    ...extra,
  };
}
