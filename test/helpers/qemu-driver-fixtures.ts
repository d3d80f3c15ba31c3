/**
 * What the qemu driver tests share: the demo guest served by an image API stub (root disk, kernel and
 * ramdisk, AMI-style), drivers on a test directory removed afterwards with every guest they ran, and a
 * tiny instance to boot.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { QemuDriver, type QemuDriverOptions } from '../../src/compute/virt/qemu/qemu-driver.ts';
import { TaskState } from '../../src/wire/messages/instance-states.ts';
import { GUEST_BOOT_WAIT_MS, guestImage, markerCount } from './guest-image.ts';
import { waitUntil } from './processes.ts';
import { instancePayload } from './instance-payload.ts';
import { startImageApiStub, type ImageApiStub } from './image-api-stub.ts';
import { testQemuDriverOptions } from './qemu-driver-options.ts';

/** An image API stub holding the demo guest as image `guest` (with images `kernel` and `ramdisk`). */
export async function startDemoGuestImages(): Promise<ImageApiStub> {
  const files = await guestImage();
  const stub = await startImageApiStub();
  stub.add({ id: 'kernel', diskFormat: 'aki', file: files.kernel });
  stub.add({ id: 'ramdisk', diskFormat: 'ari', file: files.ramdisk });
  stub.add({
    id: 'guest',
    diskFormat: 'qcow2',
    file: files.root,
    properties: { kernel_id: 'kernel', ramdisk_id: 'ramdisk', os_command_line: files.commandLine },
  });
  return stub;
}

export interface QemuTestbed {
  /** The test's directory (set once the tests run). */
  readonly work: string;
  /** The image API stub holding the demo guest, for tests that add images of their own. */
  readonly stub: ImageApiStub;
  /** An initialized driver on `work/<instances>`; a second one on the same path is a compute restart. */
  driver(host: string, instances?: string, options?: Partial<QemuDriverOptions>): Promise<QemuDriver>;
}

/** Registers the hooks that set up and tear down the demo guest images and a test directory. */
export function qemuTestbed(prefix: string): QemuTestbed {
  let stub: ImageApiStub;
  let work = '';
  const drivers: QemuDriver[] = [];
  before(async () => {
    stub = await startDemoGuestImages();
    work = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    // Whatever a failed test left running goes; then the files.
    for (const driver of drivers) {
      for (const guest of driver.listGuests()) await driver.destroy(guest.uuid).catch(() => undefined);
      await driver.shutdown();
    }
    await stub.close();
    await rm(work, { recursive: true, force: true });
  });
  return {
    get work() {
      return work;
    },
    get stub() {
      return stub;
    },
    async driver(host, instances = 'instances', options = {}) {
      const driver = qemuTestDriver(stub, join(work, instances), options);
      await driver.init(host);
      drivers.push(driver);
      return driver;
    },
  };
}

/** A driver (not yet initialized) keeping its guests in `instancesPath`, fetching images from `stub`. */
export function qemuTestDriver(
  stub: ImageApiStub,
  instancesPath: string,
  options: Partial<QemuDriverOptions> = {},
): QemuDriver {
  return new QemuDriver(testQemuDriverOptions(instancesPath, stub.tokens, options));
}

/** An instance of the demo guest with 128 MB (the cloud kernel needs 72), about to be spawned on `host`. */
export function demoGuestInstance(host: string, flavor: Partial<InstancePayload['flavor']> = {}): InstancePayload {
  return instancePayload(
    randomUUID(),
    {
      display_name: 'guest',
      hostname: 'guest',
      image_ref: 'guest',
      task_state: TaskState.SPAWNING,
      host,
      node: host,
      storage_tier: 'hdd',
    },
    { name: 'test.tiny', memory_mb: 128, ...flavor },
  );
}

/** How many times the guest has printed its marker on its console: once per boot. */
export async function consoleMarkers(driver: QemuDriver, uuid: string): Promise<number> {
  return markerCount(await driver.getConsoleOutput(uuid));
}

/** Waits for the guest's `count`th boot (guests boot at emulated speed, slower under load). */
export async function waitForMarkers(driver: QemuDriver, uuid: string, count: number): Promise<void> {
  await waitUntil(
    `${count} console marker(s) of ${uuid}`,
    async () => (await consoleMarkers(driver, uuid)) >= count,
    GUEST_BOOT_WAIT_MS,
  );
}

export function powerOf(driver: QemuDriver, uuid: string): number {
  return driver.powerState(uuid);
}
