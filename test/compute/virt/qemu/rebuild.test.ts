/**
 * Rebuild with the qemu driver and a real guest: a running demo guest rebuilt from another image boots
 * again (its console marker once more) on a new root overlay of that image, its old root disk and disk
 * snapshot links removed and its ephemeral disk made anew, or kept with preserve_ephemeral; a rebuild
 * that is not to start leaves the guest off. Ephemeral contents are checked with qemu-io patterns at an
 * offset the guest never writes (raw, so read and written in place beside the running qemu).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { RebuildOptions } from '../../../../src/compute/virt/driver.ts';
import { readGuestSpec, type GuestSpec } from '../../../../src/compute/virt/qemu/guest-spec.ts';
import { PowerState } from '../../../../src/wire/messages/instance-states.ts';
import { guestImage } from '../../../helpers/guest-image.ts';
import {
  consoleMarkers,
  demoGuestInstance,
  powerOf,
  qemuTestbed,
  waitForMarkers,
} from '../../../helpers/qemu-driver-fixtures.ts';

const run = promisify(execFile);
const HOST = 'qemu-rebuild-host';
const bed = qemuTestbed('stratus-qemu-rebuild-');
/** Far into the 1 GB ephemeral disk, beyond what the guest (which does not mount it) touches. */
const EPH_OFFSET = 700 * 1024 ** 2;
const PATTERN_BYTES = 64 * 1024;

async function specOf(dir: string): Promise<GuestSpec> {
  const spec = await readGuestSpec(join(dir, 'guest.json'));
  assert.ok(spec, 'guest.json is readable');
  return spec;
}

const disk = (spec: GuestSpec, role: 'root' | 'ephemeral') => spec.disks.find((d) => d.role === role)!.path;

/** The ephemeral disk is raw: a pattern is written and read back in place, beside the running qemu. */
async function writeEphemeral(spec: GuestSpec, pattern: number): Promise<void> {
  const file = await open(disk(spec, 'ephemeral'), 'r+');
  try {
    await file.write(Buffer.alloc(PATTERN_BYTES, pattern), 0, PATTERN_BYTES, EPH_OFFSET);
  } finally {
    await file.close();
  }
}

async function ephemeralReads(spec: GuestSpec, pattern: number): Promise<boolean> {
  const file = await open(disk(spec, 'ephemeral'), 'r');
  try {
    const { buffer } = await file.read(Buffer.alloc(PATTERN_BYTES), 0, PATTERN_BYTES, EPH_OFFSET);
    return buffer.every((byte) => byte === pattern);
  } finally {
    await file.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The root disk's chain from the active disk down, as qemu-img sees it. */
async function chainFiles(spec: GuestSpec): Promise<string[]> {
  const { stdout } = await run('qemu-img', ['info', '--backing-chain', '-U', '--output=json', disk(spec, 'root')]);
  return (JSON.parse(stdout) as { filename: string }[]).map((image) => image.filename);
}

function options(fields: Partial<RebuildOptions> & { ready: string[] }): RebuildOptions {
  return {
    preserveEphemeral: false,
    start: true,
    shutdownTimeoutSec: 60,
    disksReady: async () => {
      fields.ready.push('ready');
    },
    ...fields,
  };
}

describe('qemu driver: rebuild', () => {
  it('rebuilds a running guest from another image, which boots again; ephemeral made anew or kept', async () => {
    const files = await guestImage();
    bed.stub.add({
      id: 'guest-2',
      diskFormat: 'qcow2',
      file: files.root,
      properties: { kernel_id: 'kernel', ramdisk_id: 'ramdisk', os_command_line: files.commandLine },
    });
    const driver = await bed.driver(HOST);
    const instance = demoGuestInstance(HOST, { ephemeral_gb: 1 });
    const uuid = instance.uuid;
    const dir = join(bed.work, 'instances', uuid);
    await driver.spawn(instance, HOST);
    await waitForMarkers(driver, uuid, 1);
    await driver.createDiskSnapshot(uuid, 's1');
    const before = await specOf(dir);
    const oldPid = (await readFile(join(dir, 'qemu.pid'), 'utf8')).trim();
    await writeEphemeral(before, 0xab);

    // From the running guest to image guest-2, ephemeral recreated: the guest boots a second time.
    const ready: string[] = [];
    const rebuilt = { ...instance, image_ref: 'guest-2' };
    await driver.rebuild(rebuilt, options({ ready }));
    assert.deepEqual(ready, ['ready']);
    await waitForMarkers(driver, uuid, 2);
    assert.equal(powerOf(driver, uuid), PowerState.RUNNING);
    assert.notEqual((await readFile(join(dir, 'qemu.pid'), 'utf8')).trim(), oldPid, 'a new qemu runs the guest');
    const after = await specOf(dir);
    assert.notEqual(disk(after, 'root'), disk(before, 'root'));
    assert.deepEqual(after.diskSnapshots, []);
    assert.deepEqual(await driver.diskSnapshots(uuid), []);
    for (const gone of [disk(before, 'root'), ...before.diskSnapshots!.map((link) => link.path)]) {
      assert.equal(await exists(gone), false, `${gone} is removed`);
    }
    const chain = await chainFiles(after);
    assert.equal(chain.length, 2, 'a fresh overlay straight on the cached image');
    assert.equal(chain[1], after.baseFiles[0]);
    assert.notEqual(after.baseFiles[0], before.baseFiles[0], "guest-2's own cached file");
    assert.equal(await ephemeralReads(after, 0xab), false, 'the ephemeral disk is new and empty');

    // preserve_ephemeral: the guest powers off cleanly and keeps the ephemeral disk; it boots a third time.
    await writeEphemeral(after, 0xcd);
    await driver.rebuild(rebuilt, options({ ready, preserveEphemeral: true }));
    await waitForMarkers(driver, uuid, 3);
    const kept = await specOf(dir);
    assert.equal(disk(kept, 'ephemeral'), disk(after, 'ephemeral'));
    assert.ok(await ephemeralReads(kept, 0xcd), 'the ephemeral disk kept its contents');
    assert.notEqual(disk(kept, 'root'), disk(after, 'root'));

    // Not to be started (a stopped server): the guest stays off, on new disks.
    await driver.rebuild(rebuilt, options({ ready, start: false }));
    assert.equal(powerOf(driver, uuid), PowerState.SHUTDOWN);
    assert.equal(await consoleMarkers(driver, uuid), 3);
    assert.deepEqual(ready, ['ready', 'ready', 'ready']);
    await driver.destroy(uuid);
    assert.equal(await exists(dir), false);
  });
});
