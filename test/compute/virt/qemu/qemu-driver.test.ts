/**
 * The qemu driver with real guests (TCG here; KVM where the probe finds it works): the demo guest booted
 * from an image API stub, its console marker, a compute restart that finds it again, graceful power off,
 * power on, hard and soft reboots, flavor disks, and destroy leaving nothing. Every wait is for an event
 * (a console line, a process gone), never a duration.
 */
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { pipeline } from 'node:stream/promises';
import { BuildAborted, BuildFailed } from '../../../../src/common/errors.ts';
import type { InstancePayload } from '../../../../src/wire/messages/instance-payload.ts';
import type { QemuDriver } from '../../../../src/compute/virt/qemu/qemu-driver.ts';
import { QemuImg } from '../../../../src/compute/virt/qemu/qemu-img.ts';
import { PowerState } from '../../../../src/wire/messages/instance-states.ts';
import { guestImage, markerCount } from '../../../helpers/guest-image.ts';
import { demoGuestInstance, powerOf, qemuTestbed, waitForMarkers } from '../../../helpers/qemu-driver-fixtures.ts';
import { qemuProcessesOf } from '../../../helpers/processes.ts';

const HOST = 'qemu-test-host';
const bed = qemuTestbed('stratus-qemu-');

/** A driver on `instances` under the test's directory; a second driver on the same path is a compute restart. */
function newDriver(instances = 'instances'): Promise<QemuDriver> {
  return bed.driver(HOST, instances);
}

function instance(flavor: Partial<InstancePayload['flavor']> = {}): InstancePayload {
  return demoGuestInstance(HOST, flavor);
}

/** Whether the driver knows the guest at all (powerOf cannot tell: a guest it does not know is NOSTATE). */
function isListed(driver: QemuDriver, uuid: string): boolean {
  return driver.listGuests().some((g) => g.uuid === uuid);
}

describe('qemu driver', () => {
  // Inside the suite: its hook runs once the testbed's file-level one has started the image stub.
  // An AMI-style root disk whose kernel image is gone from the image service.
  before(async () => {
    const files = await guestImage();
    bed.stub.add({
      id: 'guest-without-kernel',
      diskFormat: 'qcow2',
      file: files.root,
      properties: { kernel_id: 'deleted-kernel', ramdisk_id: 'ramdisk', os_command_line: files.commandLine },
    });
  });

  it('reports one node with the hypervisor type QEMU', async () => {
    const driver = await newDriver();
    const [node] = driver.nodes();
    assert.equal(node?.nodename, HOST);
    assert.equal(node?.hypervisorType, 'QEMU');
    assert.ok(node!.hypervisorVersion >= 7_000_000);
    assert.match(JSON.parse(node!.cpuInfo).accel as string, /^(kvm|tcg)$/);
    await driver.shutdown();
  });

  it('runs a guest through its life: boot, restart of compute, power off/on, reboots, destroy', async () => {
    let driver = await newDriver();
    const guest = instance({ ephemeral_gb: 1, swap: 16 });
    const dir = join(bed.work, 'instances', guest.uuid);
    await driver.spawn(guest, HOST);
    assert.equal(powerOf(driver, guest.uuid), PowerState.RUNNING);
    await waitForMarkers(driver, guest.uuid, 1);
    assert.deepEqual((await readdir(dir)).sort(), [
      'console.log',
      'disk',
      'disk.eph0',
      'disk.swap',
      'guest.json',
      'qemu.pid',
      'qmp.sock',
    ]);
    const root = await new QemuImg().info(join(dir, 'disk'));
    assert.equal(root.virtualSize, 1024 ** 3, 'the root disk has the flavor size');
    assert.match(root.backingFilename ?? '', /\/_base\/guest-[0-9a-f]{32}\.qcow2$/, 'the root disk is an overlay');

    // A compute restart: a new driver finds the running guest through its pidfile and QMP socket.
    await driver.shutdown();
    driver = await newDriver();
    assert.equal(powerOf(driver, guest.uuid), PowerState.RUNNING);

    await driver.powerOff(guest.uuid, 60);
    assert.equal(powerOf(driver, guest.uuid), PowerState.SHUTDOWN);
    assert.equal(await qemuProcessesOf(guest.uuid), 0);
    assert.match(await driver.getConsoleOutput(guest.uuid), /power button pressed, powering off/);

    await driver.powerOn(guest.uuid);
    assert.equal(powerOf(driver, guest.uuid), PowerState.RUNNING);
    await waitForMarkers(driver, guest.uuid, 2);

    await driver.reboot(guest.uuid, 'HARD');
    await waitForMarkers(driver, guest.uuid, 3);
    assert.equal(await qemuProcessesOf(guest.uuid), 1);

    await driver.reboot(guest.uuid, 'SOFT');
    await waitForMarkers(driver, guest.uuid, 4);
    assert.equal(powerOf(driver, guest.uuid), PowerState.RUNNING);

    await driver.destroy(guest.uuid);
    assert.equal(await qemuProcessesOf(guest.uuid), 0);
    assert.equal(isListed(driver, guest.uuid), false);
    await assert.rejects(readdir(dir), { code: 'ENOENT' });

    // Nothing uses the cached images any more: the age-out (minimum age 0 here) removes them.
    await driver.manageImageCache();
    assert.deepEqual(await readdir(join(bed.work, 'instances', '_base')), []);
  });

  it('pauses, unpauses, suspends to disk and resumes a guest that carries on where it was', async () => {
    let driver = await newDriver('suspend');
    const guest = instance();
    const dir = join(bed.work, 'suspend', guest.uuid);
    await driver.spawn(guest, HOST);
    await waitForMarkers(driver, guest.uuid, 1);

    await driver.pause(guest.uuid);
    assert.equal(powerOf(driver, guest.uuid), PowerState.PAUSED);
    await driver.unpause(guest.uuid);
    assert.equal(powerOf(driver, guest.uuid), PowerState.RUNNING);

    await driver.suspend(guest.uuid);
    assert.equal(powerOf(driver, guest.uuid), PowerState.SUSPENDED);
    assert.equal(await qemuProcessesOf(guest.uuid), 0);
    assert.ok((await readdir(dir)).includes('suspended.state'));
    await assert.rejects(driver.pause(guest.uuid), /is not running, so it cannot be paused/);

    // A compute restart sees the guest suspended, and resumes it from its saved state.
    await driver.shutdown();
    driver = await newDriver('suspend');
    assert.equal(powerOf(driver, guest.uuid), PowerState.SUSPENDED);
    await driver.resume(guest.uuid);
    assert.equal(powerOf(driver, guest.uuid), PowerState.RUNNING);
    assert.equal(await qemuProcessesOf(guest.uuid), 1);
    assert.ok(!(await readdir(dir)).includes('suspended.state'));
    await assert.rejects(driver.resume(guest.uuid), /is not suspended/);

    // Resumed, not rebooted: no second boot marker, and its acpid still answers the power button.
    await driver.powerOff(guest.uuid, 60);
    const console = await driver.getConsoleOutput(guest.uuid);
    assert.equal(markerCount(console), 1);
    assert.match(console, /power button pressed, powering off/);
    await driver.destroy(guest.uuid);
  });

  it('snapshots the root disk into a standalone qcow2, running or stopped, and discards the file', async () => {
    const driver = await newDriver('snapshots');
    const guest = instance();
    const snapshots = join(bed.work, 'snapshots', 'snapshots');
    await driver.spawn(guest, HOST);
    await waitForMarkers(driver, guest.uuid, 1);
    const copy = join(bed.work, `${guest.uuid}.snapshot`);
    for (const state of ['running', 'stopped']) {
      const data = await driver.snapshot(guest.uuid);
      assert.equal(data.diskFormat, 'qcow2');
      await pipeline(data.open(), createWriteStream(copy));
      const info = await new QemuImg().info(copy);
      assert.equal(info.format, 'qcow2', state);
      assert.equal(info.backingFilename, null, `${state}: the base is merged in`);
      assert.equal(info.virtualSize, 1024 ** 3, `${state}: the flavor's root disk`);
      assert.equal((await readdir(snapshots)).length, 1);
      await data.discard();
      assert.deepEqual(await readdir(snapshots), []);
      if (state === 'running') {
        assert.equal(powerOf(driver, guest.uuid), PowerState.RUNNING, 'running again after the copy');
        await driver.powerOff(guest.uuid, 60);
      }
    }
    await rm(copy, { force: true });
    await assert.rejects(driver.snapshot('not-a-guest'), /is not on this host/);
    await driver.destroy(guest.uuid);
  });

  it('fails a guest qemu cannot start with BuildFailed, leaving nothing behind', async () => {
    const driver = await newDriver('failures');
    const guest = instance({ memory_mb: 1024 * 1024 * 1024 });
    await assert.rejects(driver.spawn(guest, HOST), (err: Error) => {
      assert.ok(err instanceof BuildFailed);
      assert.match(err.message, /qemu could not start guest/);
      return true;
    });
    assert.equal(await qemuProcessesOf(guest.uuid), 0);
    await assert.rejects(readdir(join(bed.work, 'failures', guest.uuid)), { code: 'ENOENT' });
    assert.equal(isListed(driver, guest.uuid), false);
  });

  it('aborts a build whose image names a kernel the image service lacks, naming it, leaving nothing behind', async () => {
    const driver = await newDriver('missing-kernel');
    const guest = { ...instance(), image_ref: 'guest-without-kernel' };
    await assert.rejects(driver.spawn(guest, HOST), (err: Error) => {
      assert.ok(err instanceof BuildAborted, 'no other host would find the kernel either: no reschedule');
      assert.match(err.message, /names deleted-kernel as its kernel_id, but image deleted-kernel not found/);
      return true;
    });
    assert.equal(await qemuProcessesOf(guest.uuid), 0);
    await assert.rejects(readdir(join(bed.work, 'missing-kernel', guest.uuid)), { code: 'ENOENT' });
  });
});
