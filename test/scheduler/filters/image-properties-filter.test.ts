/** ImagePropertiesFilter: images naming an architecture, hypervisor type or vm mode against supported instances. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { imagePropertiesFilter } from '../../../src/scheduler/filters/image-properties-filter.ts';
import { filterRequest, hostState, requestSpec } from '../../helpers/scheduler-fixtures.ts';

const filter = imagePropertiesFilter(loadConfig([]));
const fake = hostState('fake-x86');
const qemu = hostState('qemu-multi', {
  supportedInstances: [
    ['x86_64', 'qemu', 'hvm'],
    ['i686', 'qemu', 'hvm'],
    ['aarch64', 'qemu', 'hvm'],
  ],
});
const silent = hostState('reports-nothing', { supportedInstances: [] });
/** QEMU 7.2.0 and 8.1.3, as their drivers report hypervisor_version. */
const qemu7 = hostState('qemu-7.2', { supportedInstances: [['x86_64', 'qemu', 'hvm']], hypervisorVersion: 7002000 });
const qemu8 = hostState('qemu-8.1', { supportedInstances: [['x86_64', 'qemu', 'hvm']], hypervisorVersion: 8001003 });
const unversioned = hostState('no-version', { supportedInstances: [['x86_64', 'qemu', 'hvm']], hypervisorVersion: 0 });

const passing = (imageProperties: Record<string, string>, f = filter) =>
  [fake, qemu, silent].filter((h) => f.passes(h, filterRequest(requestSpec({ imageProperties })))).map((h) => h.host);

describe('ImagePropertiesFilter', () => {
  it('lets an image that asks for nothing run anywhere, even on a node that reports nothing', () => {
    assert.deepEqual(passing({ os_distro: 'debian' }), ['fake-x86', 'qemu-multi', 'reports-nothing']);
  });

  it('matches hw_architecture, img_hv_type and hw_vm_mode together against one supported instance', () => {
    assert.deepEqual(passing({ hw_architecture: 'x86_64' }), ['fake-x86', 'qemu-multi']);
    assert.deepEqual(passing({ hw_architecture: 'aarch64' }), ['qemu-multi']);
    assert.deepEqual(passing({ img_hv_type: 'qemu' }), ['qemu-multi']);
    assert.deepEqual(passing({ hw_vm_mode: 'hvm' }), ['fake-x86', 'qemu-multi']);
    assert.deepEqual(passing({ hw_architecture: 'aarch64', img_hv_type: 'fake' }), []);
    assert.deepEqual(passing({ hw_vm_mode: 'xen' }), []);
  });

  it("uses Nova's canonical names and the legacy property names", () => {
    assert.deepEqual(passing({ hw_architecture: 'AMD64' }), ['fake-x86', 'qemu-multi']);
    assert.deepEqual(passing({ hw_architecture: 'i386' }), ['qemu-multi']);
    assert.deepEqual(passing({ hw_vm_mode: 'HV' }), ['fake-x86', 'qemu-multi']);
    assert.deepEqual(passing({ architecture: 'aarch64' }), ['qemu-multi']);
    assert.deepEqual(passing({ hypervisor_type: 'QEMU', vm_mode: 'hvm' }), ['qemu-multi']);
    assert.deepEqual(passing({ hw_architecture: 'x86_64', architecture: 'aarch64' }), ['fake-x86', 'qemu-multi']);
  });

  it('assumes image_properties_default_architecture for an image that names none', () => {
    const config = loadConfig([], { filter_scheduler: { image_properties_default_architecture: 'aarch64' } });
    const withDefault = imagePropertiesFilter(config);
    assert.deepEqual(passing({}, withDefault), ['qemu-multi']);
    assert.deepEqual(passing({ hw_architecture: 'x86_64' }, withDefault), ['fake-x86', 'qemu-multi']);
  });

  it('checks img_hv_requested_version against the node hypervisor_version, with Nova’s predicate syntax', () => {
    const versioned = (imageProperties: Record<string, string>) =>
      [qemu7, qemu8, unversioned]
        .filter((h) => filter.passes(h, filterRequest(requestSpec({ imageProperties }))))
        .map((h) => h.host);
    const asking = (requirement: string) => versioned({ img_hv_type: 'qemu', img_hv_requested_version: requirement });
    assert.deepEqual(asking('>=8.0'), ['qemu-8.1', 'no-version']);
    assert.deepEqual(asking('>= 7.0, < 8'), ['qemu-7.2', 'no-version']);
    assert.deepEqual(asking('7.2'), ['qemu-7.2', 'no-version'], 'a bare version is equality; 7.2 is 7.2.0');
    assert.deepEqual(asking('!=8.1.3'), ['qemu-7.2', 'no-version']);
    assert.deepEqual(asking('>8.1.3'), ['no-version']);
    assert.deepEqual(asking('newest'), ['no-version'], 'a requirement that does not parse fits no versioned node');
    // As in Nova, a version requirement alone asks nothing of the node.
    assert.deepEqual(versioned({ img_hv_requested_version: '>=99' }), ['qemu-7.2', 'qemu-8.1', 'no-version']);
  });
});
