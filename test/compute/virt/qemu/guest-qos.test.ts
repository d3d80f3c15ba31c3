/** A new guest's QoS: limits from the flavor, and the CPUs it may run on from the host's CPU sets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuildFailed } from '../../../../src/common/errors.ts';
import { chooseGuestQos } from '../../../../src/compute/virt/qemu/guest-qos.ts';

const sets = { shared: [0, 1], dedicated: [2, 3, 4] };

describe('chooseGuestQos', () => {
  it('takes limits from the flavor and puts an ordinary guest on the shared CPUs', () => {
    const qos = chooseGuestQos({ 'quota:disk_read_iops_sec': '10', 'quota:cpu_shares': '2048' }, 2, sets, new Set());
    assert.equal(qos.diskThrottle?.iops_rd, 10);
    assert.deepEqual(qos.cpuQuota, { quota: null, period: null, shares: 2048 });
    assert.deepEqual(qos.pinning, { policy: 'shared', cpus: [0, 1] });
  });

  it('gives a dedicated guest one free dedicated CPU per vCPU', () => {
    const qos = chooseGuestQos({ 'hw:cpu_policy': 'dedicated' }, 2, sets, new Set([2]));
    assert.deepEqual(qos.pinning, { policy: 'dedicated', cpus: [3, 4] });
  });

  it('refuses a dedicated guest when too few dedicated CPUs are free', () => {
    assert.throws(
      () => chooseGuestQos({ 'hw:cpu_policy': 'dedicated' }, 2, sets, new Set([2, 3])),
      (err: unknown) => err instanceof BuildFailed && /1 free dedicated CPUs .*2-4.*needs 2/.test(err.message),
    );
  });

  it('does not pin without CPU sets', () => {
    assert.equal(chooseGuestQos({}, 1, null, new Set()).pinning, null);
  });
});
