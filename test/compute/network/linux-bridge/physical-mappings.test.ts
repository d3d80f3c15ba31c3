/** `[linux_bridge] physical_interface_mappings`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePhysicalMappings } from '../../../../src/compute/network/linux-bridge/physical-mappings.ts';
import { ConfigError } from '../../../../src/common/errors.ts';

describe('physical interface mappings', () => {
  it('maps each physical network to its interface', () => {
    assert.deepEqual(
      [...parsePhysicalMappings(['physnet1:eth1', ' public:eth2 '])],
      [
        ['physnet1', 'eth1'],
        ['public', 'eth2'],
      ],
    );
  });

  it('refuses malformed pairs, a network mapped twice and over-long names', () => {
    assert.throws(() => parsePhysicalMappings(['physnet1']), ConfigError);
    assert.throws(() => parsePhysicalMappings(['a:eth1', 'a:eth2']), ConfigError);
    assert.throws(() => parsePhysicalMappings(['a:interface-name-too-long']), ConfigError);
  });
});
