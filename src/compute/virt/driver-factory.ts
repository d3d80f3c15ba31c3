/** Picks the virt driver named by `[DEFAULT] compute_driver`. */
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../common/config/load-config.ts';
import { ConfigError } from '../../common/errors.ts';
import { hostCpuSets } from '../cpu-sets.ts';
import type { ImageSource } from '../image/image-client.ts';
import { fakeStoragePools, storagePools } from '../storage-pools.ts';
import type { VirtDriver } from './driver.ts';
import { MOVE_FAILURE_STEPS, type MoveFailureRates, type MoveFailureStep, FakeDriver } from './fake/fake-driver.ts';
import { ImageCache } from './qemu/image-cache.ts';
import { QemuDriver } from './qemu/qemu-driver.ts';
import { QemuImg } from './qemu/qemu-img.ts';

/**
 * `images` is the compute service's one client of the image API (its service user's token is shared
 * with the snapshot uploads); only the qemu driver reads images.
 */
export function createDriver(config: Config, images: ImageSource): VirtDriver {
  switch (config.DEFAULT.compute_driver) {
    case 'fake':
      return fakeDriver(config);
    case 'qemu':
      return qemuDriver(config, images);
    default:
      throw new ConfigError(
        `[DEFAULT] compute_driver: unknown driver '${config.DEFAULT.compute_driver}'; expected fake or qemu`,
      );
  }
}

function fakeDriver(config: Config): FakeDriver {
  const f = config.fake_driver;
  return new FakeDriver({
    nodeCount: f.node_count,
    vcpus: f.vcpus,
    memoryMb: f.memory_mb,
    storagePools: fakeStoragePools(config),
    spawnDelayMs: f.spawn_delay_ms,
    powerDelayMs: f.power_delay_ms,
    spawnFailureRate: f.spawn_failure_rate,
    moveFailureRates: moveFailureRates(f.move_failure_rates),
    liveMigrationMs: f.live_migration_ms,
  });
}

/** `step:rate` entries of [fake_driver] move_failure_rates. */
function moveFailureRates(entries: readonly string[]): MoveFailureRates {
  const rates: MoveFailureRates = {};
  for (const entry of entries) {
    const [step, rate] = entry.split(':');
    const value = Number(rate);
    if (!MOVE_FAILURE_STEPS.includes(step as MoveFailureStep) || !(value >= 0 && value <= 1)) {
      throw new ConfigError(
        `[fake_driver] move_failure_rates: '${entry}' is not step:rate with a step of ` +
          `${MOVE_FAILURE_STEPS.join(', ')} and a rate from 0 to 1`,
      );
    }
    rates[step as MoveFailureStep] = value;
  }
  return rates;
}

function qemuDriver(config: Config, images: ImageSource): QemuDriver {
  const qemuImg = new QemuImg(config.qemu.qemu_img_binary);
  const instancesPath = config.DEFAULT.instances_path;
  const imageCache = new ImageCache(join(instancesPath, config.image_cache.subdirectory_name), images, qemuImg);
  const q = config.qemu;
  return new QemuDriver({
    instancesPath,
    storagePools: storagePools(config),
    virtType: q.virt_type as 'auto' | 'kvm' | 'qemu',
    binary: q.binary,
    machineType: q.machine_type,
    tcgTbSizeMb: q.tcg_tb_size_mb,
    spawnTimeoutSec: q.spawn_timeout,
    softRebootTimeoutSec: q.wait_soft_reboot_seconds,
    imageCache,
    qemuImg,
    cpuSets: pinsGuests(config) ? hostCpuSets(config, cpus().length) : null,
    snapshotsDirectory: q.snapshots_directory || join(instancesPath, 'snapshots'),
    imageCacheOptions: {
      removeUnused: config.image_cache.remove_unused_base_images,
      minimumAgeSec: config.image_cache.remove_unused_original_minimum_age_seconds,
    },
    // qemu opens the taps the datapath made, so it runs where they are.
    networkNamespace: config.linux_bridge.namespace,
    migrationAddress: q.migration_address,
    liveMigrationInboundAddress: q.live_migration_inbound_addr || q.migration_address,
    configDrive: {
      format: config.DEFAULT.config_drive_format as 'iso9660' | 'vfat',
      mkisofsCmd: config.DEFAULT.mkisofs_cmd,
    },
    vnc: config.vnc.enabled
      ? { listen: config.vnc.server_listen, proxyclientAddress: config.vnc.server_proxyclient_address }
      : null,
  });
}

/** Guests are pinned only when the operator names CPU sets; otherwise they may run on any host CPU. */
function pinsGuests(config: Config): boolean {
  return Boolean(config.DEFAULT.vcpu_pin_set || config.compute.cpu_shared_set || config.compute.cpu_dedicated_set);
}
