/**
 * Shelve and unshelve of a real demo guest through the compute manager and the qemu driver: the running
 * guest is powered off, its disk uploaded into the shelved image (an image API stand-in over HTTP) and
 * the guest offloaded at once (Nova's default shelved_offload_time 0); the unshelve spawns it from that
 * image, it boots to its console marker, and the image is deleted. The conductor is a recorder.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../../src/common/config/load-config.ts';
import { adminContext } from '../../../../src/common/context.ts';
import { ImageClient } from '../../../../src/compute/image/image-client.ts';
import { ComputeManager } from '../../../../src/compute/manager.ts';
import type { ConductorRpcApi } from '../../../../src/wire/contracts/conductor.ts';
import { PowerState, TaskState, VmState } from '../../../../src/wire/messages/instance-states.ts';
import { guestImage } from '../../../helpers/guest-image.ts';
import { demoGuestInstance, qemuTestbed, waitForMarkers } from '../../../helpers/qemu-driver-fixtures.ts';
import { NoopNetworkDriver } from '../../../../src/compute/network/noop-driver.ts';

const bed = qemuTestbed('stratus-qemu-shelve-');

/** The conductor calls of shelve and unshelve, recorded by name. */
function recordingConductor() {
  const calls: [string, unknown][] = [];
  const record =
    (name: string) =>
    async (...args: unknown[]) => {
      calls.push([name, args.slice(1)]);
    };
  const conductor = {
    instanceUpdate: record('instanceUpdate'),
    actionEvent: record('actionEvent'),
    recordFault: record('recordFault'),
    instanceShelved: record('instanceShelved'),
    instanceShelveOffloaded: record('instanceShelveOffloaded'),
    instanceUnshelved: record('instanceUnshelved'),
  };
  return { conductor: conductor as unknown as ConductorRpcApi, calls };
}

describe('qemu: shelve and unshelve a demo guest', () => {
  it('offloads the shelved guest and boots it again from the shelved image', async () => {
    const driver = await bed.driver('h1');
    const { conductor, calls } = recordingConductor();
    const images = new ImageClient(bed.stub.tokens, [bed.stub.url]);
    const manager = new ComputeManager('h1', loadConfig([]), driver, new NoopNetworkDriver(), conductor, images);
    const guest = demoGuestInstance('h1');
    await driver.spawn(guest, 'h1');
    await waitForMarkers(driver, guest.uuid, 1);

    // The image the API would have created for the shelve, with the base image's boot properties.
    const files = await guestImage();
    const imageId = randomUUID();
    const file = join(bed.work, `${imageId}.img`);
    writeFileSync(file, '');
    bed.stub.add({
      id: imageId,
      diskFormat: 'qcow2',
      file,
      properties: { kernel_id: 'kernel', ramdisk_id: 'ramdisk', os_command_line: files.commandLine },
    });

    const running = {
      ...guest,
      vm_state: VmState.ACTIVE,
      task_state: TaskState.SHELVING,
      power_state: PowerState.RUNNING,
    };
    await manager.shelving.shelve(adminContext(), running, imageId);
    assert.deepEqual(
      calls.filter(([name]) => name === 'recordFault'),
      [],
      'no fault',
    );
    const shelved = calls.find(([name]) => name === 'instanceShelved')?.[1] as [Record<string, unknown>];
    assert.equal(shelved[0]['offload'], true);
    assert.equal(shelved[0]['power_state'], PowerState.SHUTDOWN);
    assert.ok(calls.some(([name]) => name === 'instanceShelveOffloaded'));
    assert.deepEqual(driver.listGuests(), [], 'the guest is gone from the host');

    const offloaded = { ...guest, vm_state: VmState.SHELVED_OFFLOADED, task_state: TaskState.UNSHELVING, host: 'h1' };
    await manager.shelving.unshelve(adminContext(), offloaded, imageId, 'h1');
    assert.deepEqual(
      calls.filter(([name]) => name === 'recordFault'),
      [],
      'no fault',
    );
    assert.ok(calls.some(([name]) => name === 'instanceUnshelved'));
    await waitForMarkers(driver, guest.uuid, 1);
    assert.equal(driver.powerState(guest.uuid), PowerState.RUNNING);
    assert.deepEqual(bed.stub.deleted, [imageId], 'the shelved image is deleted once the guest runs');
    await driver.destroy(guest.uuid);
  });
});
