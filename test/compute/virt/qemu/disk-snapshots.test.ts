/**
 * Disk snapshots of the qemu driver with a real guest: links taken live (the guest's qemu keeps running,
 * same pid) and on a stopped guest, links merged into their child live (block-stream, into an
 * intermediate link and into the active disk) and offline (qemu-img rebase), a revert that restarts the
 * guest on the link's content, a compute restart that finds the chain in guest.json, and destroy leaving
 * no file. The chain is read with `qemu-img info --backing-chain`; contents are checked with qemu-io
 * patterns written beyond the guest's filesystem while the guest is off, and read back (shared, read-only)
 * once the qemu that changed the files has quit, or from files it has not written. Links of a suspended
 * guest (which resumes where it was) and of a paused one are taken and merged too, and a snapshot a
 * compute restart interrupted is settled by which file the guest's qemu writes to.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readGuestSpec, type GuestSpec } from '../../../../src/compute/virt/qemu/guest-spec.ts';
import { PowerState } from '../../../../src/wire/messages/instance-states.ts';
import { qemuProcessesOf } from '../../../helpers/processes.ts';
import {
  consoleMarkers,
  demoGuestInstance,
  powerOf,
  qemuTestbed,
  waitForMarkers,
} from '../../../helpers/qemu-driver-fixtures.ts';

const run = promisify(execFile);
const HOST = 'qemu-snap-host';
const bed = qemuTestbed('stratus-qemu-snap-');
/** Offsets beyond the demo guest's filesystem (its image is far smaller than the 1 GB root disk). */
const AT_800M = 800 * 1024 ** 2;
const AT_900M = 900 * 1024 ** 2;

async function specOf(dir: string): Promise<GuestSpec> {
  const spec = await readGuestSpec(join(dir, 'guest.json'));
  assert.ok(spec, 'guest.json is readable');
  return spec;
}

/** The file names of the root disk's chain, from the active disk down, as qemu-img sees it. */
async function chainFiles(spec: GuestSpec): Promise<string[]> {
  const { stdout } = await run('qemu-img', ['info', '--backing-chain', '-U', '--output=json', spec.disks[0]!.path]);
  return (JSON.parse(stdout) as { filename: string }[]).map((image) => image.filename);
}

/** What guest.json says the chain is, from the active disk down, with the cached base last. */
function expectedChain(spec: GuestSpec): string[] {
  return [spec.disks[0]!.path, ...(spec.diskSnapshots ?? []).map((link) => link.path).reverse(), spec.baseFiles[0]!];
}

async function assertChain(dir: string, links: string[]): Promise<GuestSpec> {
  const spec = await specOf(dir);
  assert.deepEqual(
    (spec.diskSnapshots ?? []).map((link) => link.id),
    links,
  );
  assert.deepEqual(await chainFiles(spec), expectedChain(spec));
  return spec;
}

async function write(file: string, pattern: number, offset: number): Promise<void> {
  await run('qemu-io', ['-f', 'qcow2', '-c', `write -P ${pattern} ${offset} 64k`, file]);
}

/** Whether the disk reads `pattern` at `offset`; shared and read-only, so it works beside a running qemu. */
async function reads(file: string, pattern: number, offset: number): Promise<boolean> {
  return run('qemu-io', ['-r', '-U', '-f', 'qcow2', '-c', `read -P ${pattern} ${offset} 64k`, file]).then(
    () => true,
    () => false,
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

const pidOf = async (dir: string) => (await readFile(join(dir, 'qemu.pid'), 'utf8')).trim();

/** A demo guest spawned by a driver on `instances` and booted once; `dir` is its state directory. */
async function bootGuest(instances = 'instances') {
  const driver = await bed.driver(HOST, instances);
  const guest = demoGuestInstance(HOST);
  const uuid = guest.uuid;
  const dir = join(bed.work, instances, uuid);
  await driver.spawn(guest, HOST);
  await waitForMarkers(driver, uuid, 1);
  return { driver, uuid, dir };
}

describe('qemu driver: disk snapshots', () => {
  it('takes, merges and reverts links live and offline; destroy leaves no file', async () => {
    const booted = await bootGuest();
    let driver = booted.driver;
    const { uuid, dir } = booted;
    const pid = await pidOf(dir);
    const originalDisk = (await specOf(dir)).disks[0]!.path;

    // Live: the running disk becomes link s1, then the next overlay link s2; the same qemu runs on.
    await driver.createDiskSnapshot(uuid, 's1');
    await driver.createDiskSnapshot(uuid, 's2');
    await driver.createDiskSnapshot(uuid, 's2');
    let spec = await assertChain(dir, ['s1', 's2']);
    assert.equal(spec.diskSnapshots![0]!.path, originalDisk, 's1 is the disk as it was');
    assert.equal(powerOf(driver, uuid), PowerState.RUNNING);
    assert.equal(await pidOf(dir), pid, 'the guest was not restarted');
    const sizes = await driver.diskSnapshots(uuid);
    assert.deepEqual(
      sizes.map((link) => link.id),
      ['s1', 's2'],
    );
    assert.ok(sizes.every((link) => (link.size ?? 0) > 0));

    // Offline: a link of the stopped guest, and s2 merged into its child with qemu-img rebase.
    await driver.powerOff(uuid, 60);
    const s3File = spec.disks[0]!.path;
    await write(s3File, 0xab, AT_800M);
    await write(s3File, 0xcd, AT_900M);
    await driver.createDiskSnapshot(uuid, 's3');
    spec = await assertChain(dir, ['s1', 's2', 's3']);
    await write(spec.disks[0]!.path, 0xee, AT_900M);
    const s2File = spec.diskSnapshots![1]!.path;
    await driver.deleteDiskSnapshot(uuid, 's2');
    spec = await assertChain(dir, ['s1', 's3']);
    assert.equal(await exists(s2File), false, 'the merged link is removed');
    assert.ok(await reads(spec.disks[0]!.path, 0xee, AT_900M));
    assert.ok(await reads(spec.disks[0]!.path, 0xab, AT_800M));

    // Live again: s1 merged into an intermediate link, then a new link merged into the active disk.
    await driver.powerOn(uuid);
    await waitForMarkers(driver, uuid, 2);
    const running = await pidOf(dir);
    await driver.deleteDiskSnapshot(uuid, 's1');
    spec = await assertChain(dir, ['s3']);
    assert.equal(await exists(originalDisk), false);
    await driver.createDiskSnapshot(uuid, 's4');
    const s4File = (await assertChain(dir, ['s3', 's4'])).diskSnapshots![1]!.path;
    await driver.deleteDiskSnapshot(uuid, 's4');
    spec = await assertChain(dir, ['s3']);
    assert.equal(await exists(s4File), false);
    assert.equal(await pidOf(dir), running, 'the guest ran through the merges');
    assert.equal(powerOf(driver, uuid), PowerState.RUNNING);
    // A running qemu keeps qcow2 metadata in its cache: the files are read once it has flushed and quit.
    await driver.powerOff(uuid, 60);
    assert.ok(await reads(spec.disks[0]!.path, 0xee, AT_900M), 'the active disk kept what it read through s4');
    assert.ok(await reads(spec.disks[0]!.path, 0xab, AT_800M), 'and what it read through s1 and s2');

    // Revert: the guest's writes since s3 are gone, and it boots again on s3's content.
    await driver.powerOn(uuid);
    await waitForMarkers(driver, uuid, 3);
    const beforeRevert = await pidOf(dir);
    const discarded = spec.disks[0]!.path;
    await driver.createDiskSnapshot(uuid, 's5');
    const s5File = (await assertChain(dir, ['s3', 's5'])).diskSnapshots![1]!.path;
    await driver.revertDiskSnapshot(uuid, 's3');
    assert.equal(powerOf(driver, uuid), PowerState.RUNNING);
    await waitForMarkers(driver, uuid, 4);
    assert.notEqual(await pidOf(dir), beforeRevert, 'the guest was restarted');
    spec = await assertChain(dir, ['s3']);
    for (const file of [discarded, s5File]) assert.equal(await exists(file), false, `${basename(file)} is removed`);
    assert.ok(await reads(spec.disks[0]!.path, 0xcd, AT_900M), 'the disk reads as it was at s3');
    assert.ok(await reads(spec.disks[0]!.path, 0xab, AT_800M));
    await assert.rejects(driver.revertDiskSnapshot(uuid, 's5'), /disk snapshot s5 is not in the chain/);

    // A compute restart finds the chain in guest.json; destroy removes every link.
    await driver.shutdown();
    driver = await bed.driver(HOST);
    assert.deepEqual(
      (await driver.diskSnapshots(uuid)).map((link) => link.id),
      ['s3'],
    );
    const files = [spec.disks[0]!.path, ...spec.diskSnapshots!.map((link) => link.path)];
    await driver.destroy(uuid);
    assert.equal(await qemuProcessesOf(uuid), 0);
    for (const file of files) assert.equal(await exists(file), false, `${basename(file)} is removed`);
    assert.equal(await exists(dir), false);
  });

  it('takes and merges links of a suspended guest, which resumes where it was, and of a paused one', async () => {
    const { driver, uuid, dir } = await bootGuest('suspended');

    await driver.suspend(uuid);
    await driver.createDiskSnapshot(uuid, 'asleep');
    await driver.createDiskSnapshot(uuid, 'asleep-2');
    await driver.deleteDiskSnapshot(uuid, 'asleep');
    await assertChain(dir, ['asleep-2']);
    await driver.resume(uuid);
    assert.equal(powerOf(driver, uuid), PowerState.RUNNING);
    assert.equal(await consoleMarkers(driver, uuid), 1, 'resumed, not booted again');

    await driver.pause(uuid);
    await driver.createDiskSnapshot(uuid, 'paused');
    await driver.deleteDiskSnapshot(uuid, 'asleep-2');
    assert.equal(powerOf(driver, uuid), PowerState.PAUSED, 'the guest stays paused');
    await assertChain(dir, ['paused']);
    await driver.unpause(uuid);
    assert.equal(powerOf(driver, uuid), PowerState.RUNNING);
    await driver.destroy(uuid);
    assert.equal(await exists(dir), false);
  });

  it('settles a disk snapshot a compute restart interrupted, by the file qemu writes to', async () => {
    // Booted, so that it powers off on ACPI below rather than after the timeout.
    const booted = await bootGuest('interrupted');
    let driver = booted.driver;
    const { uuid, dir } = booted;
    const specFile = join(dir, 'guest.json');
    /** guest.json as a crash at the switch to `overlay` would leave it: the old spec, and the overlay pending. */
    const interrupt = async (before: GuestSpec, id: string, overlay: string) => {
      await writeFile(specFile, JSON.stringify({ ...before, pendingDiskSnapshot: { id, overlay } }));
      await driver.shutdown();
      driver = await bed.driver(HOST, 'interrupted');
    };
    /** An overlay of the active disk qemu never switched to (made without opening the disk qemu holds). */
    const strayOverlay = async (spec: GuestSpec) => {
      const overlay = join(spec.diskDirectory, 'disk.stray');
      await run('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-u',
        '-F',
        'qcow2',
        '-b',
        spec.disks[0]!.path,
        overlay,
        '1G',
      ]);
      return overlay;
    };

    // qemu switched to the overlay before the crash: it becomes the active disk.
    let before = await specOf(dir);
    await driver.createDiskSnapshot(uuid, 'switched');
    await interrupt(before, 'switched', (await specOf(dir)).disks[0]!.path);
    await assertChain(dir, ['switched']);
    assert.equal(powerOf(driver, uuid), PowerState.RUNNING);

    // qemu did not switch: the overlay goes.
    before = await specOf(dir);
    const stray = await strayOverlay(before);
    await interrupt(before, 'not-switched', stray);
    assert.deepEqual(await specOf(dir), before);
    assert.equal(await exists(stray), false);

    // No qemu runs: an overlay of the active disk is adopted (nothing written to it reads as the disk below).
    await driver.powerOff(uuid, 60);
    before = await specOf(dir);
    const offline = await strayOverlay(before);
    await interrupt(before, 'offline', offline);
    const spec = await assertChain(dir, ['switched', 'offline']);
    assert.equal(spec.disks[0]!.path, offline);
    assert.equal(spec.pendingDiskSnapshot, undefined);
    await driver.destroy(uuid);
    assert.equal(await exists(dir), false);
  });
});
