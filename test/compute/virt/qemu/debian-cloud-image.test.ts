/**
 * The Debian 12 cloud image (scripts/build-debian-cloud-image.sh) boots under the qemu driver, AMI-style
 * from the image service: its kernel, its initramfs-tools initrd finding the root disk by label, systemd,
 * and cloud-init through all its stages to the line its final stage prints on the serial console. No
 * config drive or metadata service here: cloud-init falls back to its None source, as on a cloud that
 * offers neither, and still finishes. Waits are for console lines, never durations.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { instancePayload } from '../../../helpers/instance-payload.ts';
import { CLOUD_INIT_FINISHED, DEBIAN_BOOT_WAIT_MS, debianCloudImage } from '../../../helpers/debian-cloud-image.ts';
import { waitUntil } from '../../../helpers/processes.ts';
import { qemuTestbed } from '../../../helpers/qemu-driver-fixtures.ts';
import { TaskState } from '../../../../src/wire/messages/instance-states.ts';

const HOST = 'qemu-debian-cloud-host';
const bed = qemuTestbed('stratus-qemu-debian-cloud-');

describe('the Debian cloud image under the qemu driver', () => {
  before(async () => {
    const files = await debianCloudImage();
    bed.stub.add({ id: 'debian-kernel', diskFormat: 'aki', file: files.kernel });
    bed.stub.add({ id: 'debian-ramdisk', diskFormat: 'ari', file: files.ramdisk });
    bed.stub.add({
      id: 'debian',
      diskFormat: 'qcow2',
      file: files.root,
      properties: { kernel_id: 'debian-kernel', ramdisk_id: 'debian-ramdisk', os_command_line: files.commandLine },
    });
  });

  it('boots to the end of cloud-init, which names itself on the console', async () => {
    const driver = await bed.driver(HOST);
    const uuid = randomUUID();
    const instance = instancePayload(
      uuid,
      {
        display_name: 'deb',
        hostname: 'deb',
        image_ref: 'debian',
        task_state: TaskState.SPAWNING,
        host: HOST,
        node: HOST,
      },
      { name: 'test.small', memory_mb: 512, root_gb: 3 },
    );
    await driver.spawn(instance, HOST);
    const console = await waitUntil(
      'cloud-init to finish on the console',
      async () => {
        const text = await driver.getConsoleOutput(uuid);
        return CLOUD_INIT_FINISHED.test(text) && text;
      },
      DEBIAN_BOOT_WAIT_MS,
    );
    // The kernel and the distribution are the image's own, and cloud-init ran its stages to the end.
    assert.match(console, /Debian GNU\/Linux 12 \(bookworm\)/);
    assert.match(console, /Cloud-init v\. \S+ running 'modules:final'/);
    await driver.destroy(uuid);
    assert.deepEqual(driver.listGuests(), []);
  });
});
