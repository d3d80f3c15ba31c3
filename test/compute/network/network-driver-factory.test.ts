/** Which network driver a compute host gets from its configuration. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { ConfigError } from '../../../src/common/errors.ts';
import { LinuxBridgeDriver } from '../../../src/compute/network/linux-bridge/linux-bridge-driver.ts';
import { createNetworkDriver, metadataOptions } from '../../../src/compute/network/network-driver-factory.ts';
import { NoopNetworkDriver } from '../../../src/compute/network/noop-driver.ts';

describe('network driver factory', () => {
  it('gives the fake virt driver the noop driver and real guests the Linux bridge driver', () => {
    assert.ok(
      createNetworkDriver(loadConfig([], { DEFAULT: { compute_driver: 'fake' } })) instanceof NoopNetworkDriver,
    );
    const config = loadConfig([], {
      DEFAULT: { compute_driver: 'qemu' },
      linux_bridge: { physical_interface_mappings: 'physnet1:eth1', namespace: 'compute1' },
    });
    const driver = createNetworkDriver(config);
    assert.ok(driver instanceof LinuxBridgeDriver);
    assert.equal(driver.namespace, 'compute1');
  });

  it('refuses malformed interface mappings before the service starts', () => {
    const config = loadConfig([], {
      DEFAULT: { compute_driver: 'qemu' },
      linux_bridge: { physical_interface_mappings: 'eth1' },
    });
    assert.throws(() => createNetworkDriver(config), ConfigError);
  });

  it("points the metadata proxy at Neutron's metadata agent options, or nowhere when it is off", () => {
    const config = loadConfig([], {
      metadata_agent: { nova_metadata_host: 'fd00::10', nova_metadata_port: '8800', nova_metadata_protocol: 'https' },
      neutron: { metadata_proxy_shared_secret: 's3cret' },
    });
    assert.deepEqual(metadataOptions(config), { upstream: 'https://[fd00::10]:8800', secret: 's3cret' });
    assert.deepEqual(metadataOptions(loadConfig([], {})), { upstream: 'http://127.0.0.1:8775', secret: '' });
    assert.equal(metadataOptions(loadConfig([], { metadata_agent: { enabled: 'false' } })), null);
  });
});
