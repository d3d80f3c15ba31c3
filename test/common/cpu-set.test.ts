/** Nova's CPU-set syntax: ids, ranges, exclusions in any order, and clear refusals. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCpuSet, parseCpuSet } from '../../src/common/cpu-set.ts';

describe('parseCpuSet', () => {
  it('reads ids, ranges and exclusions, whatever their order', () => {
    assert.deepEqual(parseCpuSet('0-3,^2,6'), [0, 1, 3, 6]);
    assert.deepEqual(parseCpuSet('^1, 0-3 ,^2-3'), [0]);
    assert.deepEqual(parseCpuSet('5,1,3'), [1, 3, 5]);
  });

  for (const [spec, why] of [
    ['0-3,x', /'x' is not a CPU id/],
    ['3-1', /ends before it starts/],
    ['0,^0', /leaves no CPU/],
    ['0-99999999', /beyond 65535/],
    ['-1', /'-1' is not a CPU id/],
  ] as const) {
    it(`refuses '${spec}'`, () => assert.throws(() => parseCpuSet(spec), why));
  }

  it('formats ranges back', () => assert.equal(formatCpuSet([0, 1, 2, 5, 7, 8]), '0-2,5,7-8'));
});
