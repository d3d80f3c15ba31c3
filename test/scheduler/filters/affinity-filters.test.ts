/** SameHostFilter, DifferentHostFilter and the strict server-group filters, over prepared request hints. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DifferentHostFilter,
  SameHostFilter,
  ServerGroupAffinityFilter,
  ServerGroupAntiAffinityFilter,
} from '../../../src/scheduler/filters/affinity-filters.ts';
import type { HostFilter } from '../../../src/scheduler/filters/filter.ts';
import { GroupPlacement, NO_HINTS, nodeKey, type RequestHints } from '../../../src/scheduler/request-hints.ts';
import type { ServerGroupPolicy } from '../../../src/objects/server-groups.ts';
import { filterRequest, hostState, requestSpec } from '../../helpers/scheduler-fixtures.ts';

const hosts = ['a', 'b', 'c'].map((h) => hostState(h));
const passing = (filter: HostFilter, hints: Partial<RequestHints>) =>
  hosts.filter((h) => filter.passes(h, filterRequest(requestSpec(), { ...NO_HINTS, ...hints }))).map((h) => h.host);
const group = (policy: ServerGroupPolicy, counts: Record<string, number>, max = 1) =>
  new GroupPlacement('g', policy, max, new Map(Object.entries(counts)));

describe('SameHostFilter and DifferentHostFilter', () => {
  it('pass every host without their hint', () => {
    assert.deepEqual(passing(SameHostFilter, {}), ['a', 'b', 'c']);
    assert.deepEqual(passing(DifferentHostFilter, {}), ['a', 'b', 'c']);
  });

  it('keep the nodes running the named instances, or the others', () => {
    const nodes = new Set([nodeKey('a', 'a'), nodeKey('c', 'c')]);
    assert.deepEqual(passing(SameHostFilter, { sameHostNodes: nodes }), ['a', 'c']);
    assert.deepEqual(passing(DifferentHostFilter, { differentHostNodes: nodes }), ['b']);
    // Named instances that run nowhere (deleted, unknown, not placed): nothing to be near, everything is apart.
    assert.deepEqual(passing(SameHostFilter, { sameHostNodes: new Set() }), []);
    assert.deepEqual(passing(DifferentHostFilter, { differentHostNodes: new Set() }), ['a', 'b', 'c']);
  });

  it('compare nodes, not just hosts', () => {
    const otherNode = new Set([nodeKey('a', 'a-node2')]);
    assert.deepEqual(passing(SameHostFilter, { sameHostNodes: otherNode }), []);
  });
});

describe('ServerGroupAffinityFilter', () => {
  it('places the first member anywhere, then only where members run', () => {
    assert.deepEqual(passing(ServerGroupAffinityFilter, { group: group('affinity', {}) }), ['a', 'b', 'c']);
    assert.deepEqual(passing(ServerGroupAffinityFilter, { group: group('affinity', { b: 2 }) }), ['b']);
  });

  it('leaves other policies alone', () => {
    for (const policy of ['anti-affinity', 'soft-affinity', 'soft-anti-affinity'] as const) {
      assert.deepEqual(passing(ServerGroupAffinityFilter, { group: group(policy, { b: 1 }) }), ['a', 'b', 'c']);
    }
  });
});

describe('ServerGroupAntiAffinityFilter', () => {
  it('keeps hosts with fewer members than max_server_per_host (1 by default)', () => {
    assert.deepEqual(passing(ServerGroupAntiAffinityFilter, { group: group('anti-affinity', { a: 1 }) }), ['b', 'c']);
    const two = group('anti-affinity', { a: 2, b: 1 }, 2);
    assert.deepEqual(passing(ServerGroupAntiAffinityFilter, { group: two }), ['b', 'c']);
  });

  it('counts the picks recorded for the same request, and forgets them when taken back', () => {
    const g = group('anti-affinity', {});
    g.record('a');
    g.record('c');
    assert.deepEqual(passing(ServerGroupAntiAffinityFilter, { group: g }), ['b']);
    g.record('c', -1);
    assert.deepEqual(passing(ServerGroupAntiAffinityFilter, { group: g }), ['b', 'c']);
  });

  it('leaves other policies alone', () => {
    assert.deepEqual(passing(ServerGroupAntiAffinityFilter, { group: group('affinity', { a: 1 }) }), ['a', 'b', 'c']);
    assert.deepEqual(passing(ServerGroupAntiAffinityFilter, { group: group('soft-anti-affinity', { a: 1 }) }), [
      'a',
      'b',
      'c',
    ]);
  });
});
