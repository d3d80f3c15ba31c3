import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { smbiosArguments } from '../../../../src/compute/virt/qemu/guest-smbios.ts';
import { qemuArguments } from '../../../../src/compute/virt/qemu/guest-spec.ts';
import { TCG_MACHINE, TEST_GUEST_FILES, testGuestSpec } from '../../../helpers/guest-spec.ts';

const uuid = '8b9c1c6e-2f59-4c53-9d3c-3c0e2f1f6a10';

describe('guest SMBIOS', () => {
  it("gives the system information Nova's libvirt driver gives, with the instance uuid as serial", () => {
    assert.deepEqual(smbiosArguments(uuid), [
      '-smbios',
      `type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial=${uuid},uuid=${uuid},family=Virtual Machine`,
    ]);
  });

  it('is on every guest command line', () => {
    const args = qemuArguments(testGuestSpec({ uuid }), TEST_GUEST_FILES, TCG_MACHINE);
    const at = args.indexOf('-smbios');
    assert.ok(at > 0);
    assert.match(args[at + 1]!, /^type=1,.*product=OpenStack Nova/);
  });
});
