/** ComputeCapabilitiesFilter: `capabilities:` extra specs against the host's attributes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ComputeCapabilitiesFilter } from '../../../src/scheduler/filters/compute-capabilities-filter.ts';
import { filterRequest, hostState, requestSpec } from '../../helpers/scheduler-fixtures.ts';

const fake = hostState('fake', { stats: { failed_builds: '0', gpu: 'yes' } });
const qemu = hostState('qemu', {
  hypervisorType: 'qemu',
  hypervisorVersion: 7002000,
  cpuInfo: JSON.stringify({ arch: 'aarch64', features: ['sve', 'neon'] }),
  usages: { MEMORY_MB: 15000 },
});
const passing = (extraSpecs: Record<string, string>) =>
  [fake, qemu]
    .filter((h) => ComputeCapabilitiesFilter.passes(h, filterRequest(requestSpec({ extraSpecs }))))
    .map((h) => h.host);

describe('ComputeCapabilitiesFilter', () => {
  it('matches capabilities: specs against host attributes, with the extra-spec operators', () => {
    assert.deepEqual(passing({ 'capabilities:hypervisor_type': 'qemu' }), ['qemu']);
    assert.deepEqual(passing({ 'capabilities:hypervisor_type': 's!= qemu' }), ['fake']);
    assert.deepEqual(passing({ 'capabilities:hypervisor_version': '>= 7000000' }), ['qemu']);
    assert.deepEqual(passing({ 'capabilities:free_ram_mb': '>= 1024' }), ['fake']);
    assert.deepEqual(passing({ 'capabilities:vcpus_total': '16' }), ['fake', 'qemu']);
    assert.deepEqual(
      passing({ 'capabilities:cpu_allocation_ratio': '4.0' }),
      ['fake', 'qemu'],
      "Python's str of a float",
    );
  });

  it('reaches into cpu_info and stats by a path', () => {
    assert.deepEqual(passing({ 'capabilities:cpu_info:arch': 'aarch64' }), ['qemu']);
    assert.deepEqual(passing({ 'capabilities:cpu_info:features': '<in> sve' }), ['qemu']);
    assert.deepEqual(passing({ 'capabilities:stats:gpu': 'yes' }), ['fake']);
    assert.deepEqual(passing({ 'capabilities:gpu': 'yes' }), ['fake'], 'a stat by its bare name');
  });

  it('fails a host lacking the capability', () => {
    assert.deepEqual(passing({ 'capabilities:cpu_info:no_such_key': 'x' }), []);
    assert.deepEqual(passing({ 'capabilities:no_such_attribute': 'x' }), []);
  });

  it('reads unscoped keys only when they name a host attribute or stat, and ignores other scopes', () => {
    assert.deepEqual(passing({ hypervisor_type: 'fake' }), ['fake']);
    assert.deepEqual(passing({ gpu: 'no' }), ['qemu'], 'only a host that has the stat is held to it');
    assert.deepEqual(passing({ ssd: 'true', 'hw:cpu_policy': 'dedicated' }), ['fake', 'qemu']);
  });
});
