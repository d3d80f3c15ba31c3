/**
 * Deferred delete with a real qemu guest: the compute manager on the real conductor and database, the
 * qemu driver running the demo guest. Soft delete ends the guest's qemu (SOFT_DELETED, power off), restore
 * boots it again (its console shows the boot marker a second time), changePassword is refused as Nova's
 * libvirt driver refuses a guest without the qemu guest agent, and the reclaim task removes the guest.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../../src/common/config/load-config.ts';
import { adminContext } from '../../../../src/common/context.ts';
import { InstanceAgentNotEnabled } from '../../../../src/common/errors.ts';
import { ComputeManager } from '../../../../src/compute/manager.ts';
import { QemuDriver } from '../../../../src/compute/virt/qemu/qemu-driver.ts';
import { getInstance, updateInstance, type InstanceChanges } from '../../../../src/objects/instances.ts';
import { instancePayload as payloadOfRow } from '../../../../src/objects/instance-payload.ts';
import { PowerState, TaskState, VmState } from '../../../../src/wire/messages/instance-states.ts';
import { GUEST_MARKER, guestImage } from '../../../helpers/guest-image.ts';
import { startImageApiStub, type ImageApiStub } from '../../../helpers/image-api-stub.ts';
import { startTestCloud, type TestCloud } from '../../../helpers/in-process-cloud.ts';
import { instancePayload } from '../../../helpers/instance-payload.ts';
import { insertTestInstance } from '../../../helpers/instance-rows.ts';
import { processRuns, waitUntil } from '../../../helpers/processes.ts';
import { testQemuDriverOptions } from '../../../helpers/qemu-driver-options.ts';
import { NoopNetworkDriver } from '../../../../src/compute/network/noop-driver.ts';

const HOST = `qemu-dd-${randomBytes(3).toString('hex')}`;
const BOOT_MS = 120_000;
const INTERVAL = 600;

let stub: ImageApiStub;
let work: string;
let cloud: TestCloud;
let driver: QemuDriver;
let manager: ComputeManager;
let uuid: string;

before(async () => {
  const files = await guestImage();
  stub = await startImageApiStub();
  stub.add({ id: 'kernel', diskFormat: 'aki', file: files.kernel });
  stub.add({ id: 'ramdisk', diskFormat: 'ari', file: files.ramdisk });
  stub.add({
    id: 'guest',
    diskFormat: 'qcow2',
    file: files.root,
    properties: { kernel_id: 'kernel', ramdisk_id: 'ramdisk', os_command_line: files.commandLine },
  });
  work = await mkdtemp(join(tmpdir(), 'stratus-qemu-dd-'));
  cloud = await startTestCloud({ computeHosts: [] });
  driver = new QemuDriver(testQemuDriverOptions(join(work, 'instances'), stub.tokens));
  const config = loadConfig([], { DEFAULT: { host: HOST, reclaim_instance_interval: String(INTERVAL) } });
  manager = new ComputeManager(HOST, config, driver, new NoopNetworkDriver(), cloud.conductor);
  await manager.initHost();
});

after(async () => {
  for (const guest of driver.listGuests()) await driver.destroy(guest.uuid).catch(() => undefined);
  await driver.shutdown();
  if (uuid) {
    await readFile(join(work, 'instances', uuid, 'qemu.pid'), 'utf8').then(
      (pid) => process.kill(Number(pid), 'SIGKILL'),
      () => undefined,
    );
  }
  await cloud.stop();
  await stub.close();
  await rm(work, { recursive: true, force: true });
});

const markers = async () => (await driver.getConsoleOutput(uuid)).split(GUEST_MARKER).length - 1;
const pidOf = async () => Number(await readFile(join(work, 'instances', uuid, 'qemu.pid'), 'utf8'));

async function toTask(changes: InstanceChanges) {
  await updateInstance(cloud.database.db, uuid, changes);
  return payloadOfRow(await getInstance(cloud.database.db, uuid));
}

describe('deferred delete of a qemu guest', () => {
  it('soft-deletes (qemu stops), restores (boots again), refuses a password, reclaims', async () => {
    const db = cloud.database.db;
    uuid = await insertTestInstance(db, { host: HOST });
    await updateInstance(db, uuid, {
      vm_state: VmState.ACTIVE,
      power_state: PowerState.RUNNING,
      task_state: null,
      launched_at: new Date().toISOString(),
    });
    const payload = instancePayload(
      uuid,
      { image_ref: 'guest', vm_state: VmState.ACTIVE, host: HOST, node: HOST, storage_tier: 'hdd' },
      { name: 'guest.tiny', memory_mb: 128 },
    );
    await driver.spawn(payload, HOST);
    await waitUntil('first boot', async () => (await markers()) === 1, BOOT_MS);
    const firstPid = await pidOf();

    const softDeleting = await toTask({ task_state: TaskState.SOFT_DELETING, deleted_at: new Date().toISOString() });
    await manager.softDeleteInstance(adminContext(), softDeleting);
    let row = await getInstance(db, uuid);
    assert.deepEqual(
      [row.vm_state, row.task_state, row.power_state],
      [VmState.SOFT_DELETED, null, PowerState.SHUTDOWN],
    );
    assert.equal(processRuns(firstPid), false, 'the guest qemu has ended');

    // No guest agent: Nova's 409 refusal, nothing changed.
    await updateInstance(db, uuid, { vm_state: VmState.ACTIVE });
    await assert.rejects(driver.setAdminPassword(uuid, 'secret'), InstanceAgentNotEnabled);
    await updateInstance(db, uuid, { vm_state: VmState.SOFT_DELETED });

    const restoring = await toTask({ task_state: TaskState.RESTORING, deleted_at: null });
    await manager.restoreInstance(adminContext(), restoring);
    row = await getInstance(db, uuid);
    assert.deepEqual([row.vm_state, row.task_state, row.power_state], [VmState.ACTIVE, null, PowerState.RUNNING]);
    await waitUntil('second boot', async () => (await markers()) === 2, BOOT_MS);
    const secondPid = await pidOf();
    assert.notEqual(secondPid, firstPid);

    // Soft-deleted long ago: the reclaim task deletes it, the guest's files go with it.
    const again = await toTask({ task_state: TaskState.SOFT_DELETING, deleted_at: null });
    await manager.softDeleteInstance(adminContext(), again);
    await updateInstance(db, uuid, { deleted_at: new Date(Date.now() - (INTERVAL + 60) * 1000).toISOString() });
    await manager.reclaimQueuedDeletes();
    assert.equal((await getInstance(db, uuid, true)).vm_state, VmState.DELETED);
    assert.equal(processRuns(secondPid), false);
    assert.equal(existsSync(join(work, 'instances', uuid)), false, 'the guest directory is removed');
  });
});
