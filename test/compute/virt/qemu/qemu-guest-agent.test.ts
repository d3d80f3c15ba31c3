/**
 * The guest agent's channel with a real qemu: the demo guest from an image with hw_qemu_guest_agent=yes
 * boots with the virtio-serial port (qemu takes the arguments and opens qga.sock), and changePassword
 * reaches the socket, where no agent answers (the demo guest has none): the driver gives up within its
 * timeout with the reason for the log. Rebuilt onto an image without the property, the guest loses the
 * channel and changePassword is refused as Nova refuses it. (The Debian cloud image, which runs
 * qemu-guest-agent, is driven end to end in test/e2e/openstack-cli-debian-ssh.test.ts.)
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InstanceAgentNotEnabled } from '../../../../src/common/errors.ts';
import { readGuestSpec } from '../../../../src/compute/virt/qemu/guest-spec.ts';
import { guestImage } from '../../../helpers/guest-image.ts';
import { demoGuestInstance, qemuTestbed, waitForMarkers } from '../../../helpers/qemu-driver-fixtures.ts';

const HOST = 'qemu-agent-host';
const bed = qemuTestbed('stratus-qemu-agent-');

describe('qemu driver: the QEMU guest agent channel', () => {
  it('is built for an image that asks for it, reached by changePassword, and dropped by a rebuild', async () => {
    const files = await guestImage();
    bed.stub.add({
      id: 'guest-qga',
      diskFormat: 'qcow2',
      file: files.root,
      properties: {
        kernel_id: 'kernel',
        ramdisk_id: 'ramdisk',
        os_command_line: files.commandLine,
        hw_qemu_guest_agent: 'yes',
        os_admin_user: 'admin',
      },
    });
    const driver = await bed.driver(HOST, 'instances', { agentTimeoutMs: 1500 });
    const instance = { ...demoGuestInstance(HOST), image_ref: 'guest-qga' };
    const dir = join(bed.work, 'instances', instance.uuid);
    await driver.spawn(instance, HOST);
    await waitForMarkers(driver, instance.uuid, 1);
    assert.deepEqual((await readGuestSpec(join(dir, 'guest.json')))?.guestAgent, { adminUser: 'admin' });
    assert.ok((await stat(join(dir, 'qga.sock'))).isSocket(), 'qemu listens on the channel');

    // The socket answers the connection (qemu holds it) but nothing in the guest answers the sync.
    await assert.rejects(
      driver.setAdminPassword(instance.uuid, 'n3w-pass'),
      (err: Error) => !(err instanceof InstanceAgentNotEnabled) && /did not answer guest-sync/.test(err.message),
    );

    await driver.rebuild(
      { ...instance, image_ref: 'guest' },
      { preserveEphemeral: false, start: true, shutdownTimeoutSec: 60, disksReady: async () => undefined },
    );
    assert.equal((await readGuestSpec(join(dir, 'guest.json')))?.guestAgent, undefined);
    await assert.rejects(driver.setAdminPassword(instance.uuid, 'n3w-pass'), InstanceAgentNotEnabled);
    await driver.destroy(instance.uuid);
  });
});
