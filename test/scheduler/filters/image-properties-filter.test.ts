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
});
