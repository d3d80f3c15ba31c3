/**
 * Weighers: normalization and multipliers (from the options, or per aggregate), BuildFailureWeigher and
 * the soft server-group weighers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, type RawOverrides } from '../../../src/common/config/load-config.ts';
import { allIndices, HostColumns } from '../../../src/scheduler/host-columns.ts';
import { GroupPlacement, NO_HINTS } from '../../../src/scheduler/request-hints.ts';
import type { HostState } from '../../../src/scheduler/host-state.ts';
import { loadWeighers, weighHosts, WEIGHER_NAMES } from '../../../src/scheduler/weighers/weigher.ts';
import { aggregate, filterRequest, hostState, requestSpec } from '../../helpers/scheduler-fixtures.ts';

function ranking(hosts: HostState[], weighers: string[], overrides: RawOverrides = {}, request = filterRequest()) {
  const config = loadConfig([], overrides);
  const weights = weighHosts(new HostColumns(hosts), allIndices(hosts.length), loadWeighers(weighers), config, request);
  return hosts
    .map((h, i) => ({ host: h.host, weight: weights[i]! }))
    .sort((a, b) => b.weight - a.weight)
    .map((r) => r.host);
}

const groupRequest = (policy: 'soft-affinity' | 'soft-anti-affinity' | 'affinity', counts: Record<string, number>) =>
  filterRequest(requestSpec(), {
    ...NO_HINTS,
    group: new GroupPlacement('g', policy, 1, new Map(Object.entries(counts))),
  });

describe('weighers', () => {
  it("Nova's defaults: every weigher, build failures weigh a million", () => {
    const config = loadConfig([]);
    assert.deepEqual(config.filter_scheduler.weight_classes, WEIGHER_NAMES);
    assert.equal(config.filter_scheduler.build_failure_weight_multiplier, 1000000.0);
    assert.equal(config.filter_scheduler.soft_affinity_weight_multiplier, 1.0);
    assert.equal(config.filter_scheduler.soft_anti_affinity_weight_multiplier, 1.0);
  });

  describe('BuildFailureWeigher', () => {
    const hosts = [
      hostState('failing', { failedBuilds: 3 }),
      hostState('flaky', { failedBuilds: 1, usages: { MEMORY_MB: 8192 } }),
      hostState('healthy', { usages: { MEMORY_MB: 12000 } }),
    ];

    it('puts nodes with more consecutive failed builds last, outweighing free RAM', () => {
      // healthy has the least free RAM, and still wins.
      assert.deepEqual(ranking(hosts, ['RAMWeigher', 'BuildFailureWeigher']), ['healthy', 'flaky', 'failing']);
    });

    it('has no say with build_failure_weight_multiplier 0', () => {
      assert.deepEqual(
        ranking(hosts, ['RAMWeigher', 'BuildFailureWeigher'], {
          filter_scheduler: { build_failure_weight_multiplier: '0' },
        }),
        ['failing', 'flaky', 'healthy'],
      );
    });
  });

  describe('ServerGroupSoftAffinityWeigher and ServerGroupSoftAntiAffinityWeigher', () => {
    const hosts = [hostState('a'), hostState('b', { usages: { MEMORY_MB: 4096 } }), hostState('c')];
    const both = ['ServerGroupSoftAffinityWeigher', 'ServerGroupSoftAntiAffinityWeigher'];

    it('soft-affinity prefers the host with the most members', () => {
      assert.deepEqual(ranking(hosts, both, {}, groupRequest('soft-affinity', { b: 2, c: 1 })), ['b', 'c', 'a']);
    });

    it('soft-anti-affinity prefers the hosts with the fewest members', () => {
      assert.deepEqual(ranking(hosts, both, {}, groupRequest('soft-anti-affinity', { a: 2, b: 1 })), ['c', 'b', 'a']);
    });

    it('outweighs free RAM with a large enough multiplier, and is outweighed with 0', () => {
      const request = groupRequest('soft-affinity', { b: 1 });
      const weighers = ['RAMWeigher', ...both];
      assert.deepEqual(
        ranking(hosts, weighers, { filter_scheduler: { soft_affinity_weight_multiplier: '2' } }, request)[0],
        'b',
      );
      assert.notEqual(
        ranking(hosts, weighers, { filter_scheduler: { soft_affinity_weight_multiplier: '0' } }, request)[0],
        'b',
      );
    });

    it('has no say for strict policies or without a group', () => {
      const ram = ['RAMWeigher', ...both];
      assert.equal(ranking(hosts, ram, {}, groupRequest('affinity', { b: 3 })).at(-1), 'b');
      assert.equal(ranking(hosts, ram).at(-1), 'b');
    });

    it('refuses a negative multiplier in the configuration', () => {
      assert.throws(() => loadConfig([], { filter_scheduler: { soft_affinity_weight_multiplier: '-1' } }));
    });
  });

  describe('per-aggregate multipliers', () => {
    it("an aggregate's metadata overrides the option for its hosts, the smallest value winning", () => {
      const stack = aggregate('stack', { ram_weight_multiplier: '-1.0' });
      const hosts = [
        hostState('free-spread', {}),
        hostState('busy-spread', { usages: { MEMORY_MB: 8192 } }),
        hostState('busy-stack', { usages: { MEMORY_MB: 8192 }, aggregates: [stack] }),
        hostState('free-stack', { aggregates: [stack, aggregate('other', { ram_weight_multiplier: '5' })] }),
      ];
      // Normalized free RAM: free hosts 1, busy ones 0; the stacking aggregate's hosts get -1 × that.
      assert.deepEqual(ranking(hosts, ['RAMWeigher']).slice(0, 1), ['free-spread']);
      assert.equal(ranking(hosts, ['RAMWeigher']).at(-1), 'free-stack');
    });

    it('falls back to the option when the metadata is not a number', () => {
      const bad = aggregate('bad', { ram_weight_multiplier: 'lots' });
      const hosts = [hostState('busy', { usages: { MEMORY_MB: 8192 } }), hostState('free', { aggregates: [bad] })];
      assert.deepEqual(ranking(hosts, ['RAMWeigher']), ['free', 'busy']);
    });
  });
});
