/** Which host CPUs count as VCPU and PCPU, with Nova's rules, and the start-up errors naming the option. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, type RawOverrides } from '../../src/common/config/load-config.ts';
import { ConfigError } from '../../src/common/errors.ts';
import { hostCpuSets } from '../../src/compute/cpu-sets.ts';

const sets = (overrides: RawOverrides, hostCpus = 8) => hostCpuSets(loadConfig([], overrides), hostCpus);

describe('hostCpuSets', () => {
  it('without options: every host CPU is shared, none dedicated', () => {
    assert.deepEqual(sets({}, 4), { shared: [0, 1, 2, 3], dedicated: [] });
  });

  it('cpu_shared_set and cpu_dedicated_set split the host', () => {
    assert.deepEqual(sets({ compute: { cpu_shared_set: '0-1', cpu_dedicated_set: '2-7,^5' } }), {
      shared: [0, 1],
      dedicated: [2, 3, 4, 6, 7],
    });
  });

  it('cpu_dedicated_set alone leaves no shared CPU', () => {
    assert.deepEqual(sets({ compute: { cpu_dedicated_set: '4-7' } }), { shared: [], dedicated: [4, 5, 6, 7] });
  });

  it('the deprecated vcpu_pin_set still gives the shared CPUs, and wins over cpu_shared_set', () => {
    assert.deepEqual(sets({ DEFAULT: { vcpu_pin_set: '2-5' } }).shared, [2, 3, 4, 5]);
    assert.deepEqual(sets({ DEFAULT: { vcpu_pin_set: '2-5' }, compute: { cpu_shared_set: '0' } }).shared, [2, 3, 4, 5]);
  });

  const refusals: [string, RawOverrides, RegExp][] = [
    [
      'a CPU the host lacks',
      { compute: { cpu_dedicated_set: '6-9' } },
      /\[compute\] cpu_dedicated_set: CPUs 8-9 are not on this host/,
    ],
    ['vcpu_pin_set beyond the host', { DEFAULT: { vcpu_pin_set: '0-8' } }, /\[DEFAULT\] vcpu_pin_set: CPUs 8 are not/],
    ['overlapping sets', { compute: { cpu_shared_set: '0-3', cpu_dedicated_set: '3-5' } }, /overlap on CPUs 3/],
    [
      'vcpu_pin_set with cpu_dedicated_set',
      { DEFAULT: { vcpu_pin_set: '0-1' }, compute: { cpu_dedicated_set: '2-3' } },
      /cannot be combined/,
    ],
  ];
  for (const [what, overrides, message] of refusals) {
    it(`refuses ${what}, naming the option`, () => {
      assert.throws(
        () => sets(overrides),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }

  it('bad syntax is refused when the configuration loads, naming the option', () => {
    assert.throws(
      () => loadConfig([], { compute: { cpu_shared_set: '0-3,a' } }),
      /bad value for \[compute\] cpu_shared_set: 'a' is not a CPU id/,
    );
  });
});
