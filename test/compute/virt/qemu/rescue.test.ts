/**
 * Rescue, crash dump and diagnostics of the qemu driver with a real guest: diagnostics of the running
 * demo guest from QMP and /proc; an NMI the guest's kernel reports on its console; a rescue that boots a
 * rescue image (its own marker on the console) with the guest's root disk as the second disk (the rescue
 * system finds the demo guest's init on /dev/vdb; qemu runs both disks, rescue first); a compute restart
 * that finds the guest rescued; and an unrescue that boots the guest's own disk again and removes the
 * rescue disk.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RESCUE_DISK } from '../../../../src/compute/virt/qemu/rescue.ts';
import { PowerState } from '../../../../src/wire/messages/instance-states.ts';
import { guestImage, GUEST_BOOT_WAIT_MS } from '../../../helpers/guest-image.ts';
import { waitUntil } from '../../../helpers/processes.ts';
import {
  consoleMarkers,
  demoGuestInstance,
  qemuTestbed,
  waitForMarkers,
} from '../../../helpers/qemu-driver-fixtures.ts';
import { buildRescueImage, RESCUE_MARKER } from '../../../helpers/rescue-guest-image.ts';

const HOST = 'qemu-rescue-host';
const bed = qemuTestbed('stratus-qemu-rescue-');

/** The -drive files of the guest's running qemu, in order (its command line). */
async function driveFiles(instances: string, uuid: string): Promise<string[]> {
  const pid = (await readFile(join(instances, uuid, 'qemu.pid'), 'utf8')).trim();
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  return args.flatMap((arg, i) => (args[i - 1] === '-drive' ? [/^file=(.*?),if=/.exec(arg)![1]!] : []));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('qemu driver: rescue, crash dump and diagnostics', () => {
  it('diagnoses, takes an NMI, rescues, survives a compute restart rescued, and unrescues', async () => {
    const files = await guestImage();
    bed.stub.add({
      id: 'rescue',
      diskFormat: 'qcow2',
      file: await buildRescueImage(files.root, bed.work),
      properties: { kernel_id: 'kernel', ramdisk_id: 'ramdisk', os_command_line: files.commandLine },
    });
    const instances = join(bed.work, 'instances');
    let driver = await bed.driver(HOST);
    const instance = demoGuestInstance(HOST);
    const uuid = instance.uuid;
    await driver.spawn(instance, HOST);
    await waitForMarkers(driver, uuid, 1);

    // Diagnostics of the running guest, from its qemu.
    const figures = await driver.getDiagnostics(uuid);
    assert.equal(figures.state, 'running');
    assert.equal(figures.hypervisor, 'qemu');
    assert.deepEqual(figures.memory_details, { maximum: 128, used: 128 });
    assert.equal(figures.cpu_details.length, 1);
    assert.ok((figures.cpu_details[0]!.time ?? 0) > 0, 'the vCPU has run');
    assert.deepEqual(
      figures.disk_details.map((d) => d.device),
      ['vda'],
    );
    assert.ok((figures.disk_details[0]!.read_bytes ?? 0) > 0, 'the guest read its root disk');
    assert.ok(figures.uptime !== null && figures.uptime >= 0 && figures.uptime < 3600);

    // An NMI: qemu accepts it and the guest kernel says so on the console.
    // (x86 kernels log an NMI no device claims as "Uhhuh. NMI received for unknown reason ...".)
    assert.doesNotMatch(await driver.getConsoleOutput(uuid), /NMI received/);
    await driver.triggerCrashDump(uuid);
    await waitUntil(
      'the NMI on the console',
      async () => /NMI received/.test(await driver.getConsoleOutput(uuid)),
      30_000,
    );

    // Rescue: the rescue image boots from the first disk and finds the guest's own disk second.
    await driver.rescue(uuid, 'rescue', 30);
    assert.equal(driver.isRescued(uuid), true);
    await waitUntil(
      'the rescue boot on the console',
      async () => (await driver.getConsoleOutput(uuid)).includes(`${RESCUE_MARKER} second-disk=original-root`),
      GUEST_BOOT_WAIT_MS,
    );
    const diskDirectory = join(instances, uuid);
    assert.deepEqual(await driveFiles(instances, uuid), [
      join(diskDirectory, RESCUE_DISK),
      join(diskDirectory, 'disk'),
    ]);
    assert.equal((await driver.getDiagnostics(uuid)).disk_details.length, 2);

    // A compute restart finds the guest rescued and running.
    await driver.shutdown();
    driver = await bed.driver(HOST);
    assert.equal(driver.isRescued(uuid), true);
    assert.equal(driver.powerState(uuid), PowerState.RUNNING);

    // Unrescue: the guest boots its own disk again; the rescue disk is gone.
    const bootsBefore = await consoleMarkers(driver, uuid);
    await driver.unrescue(uuid);
    assert.equal(driver.isRescued(uuid), false);
    await waitForMarkers(driver, uuid, bootsBefore + 1);
    assert.deepEqual(await driveFiles(instances, uuid), [join(diskDirectory, 'disk')]);
    assert.equal(await exists(join(diskDirectory, RESCUE_DISK)), false);
  });
});
