/**
 * RankedHosts hands hosts out in the order a stable sort by weight would give (ties in input order),
 * with a random one of the best host_subset_size first, without sorting them all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RankedHosts } from '../../src/scheduler/ranking.ts';

function drain<T>(ranked: RankedHosts<T>): T[] {
  return ranked.take(Number.MAX_SAFE_INTEGER);
}

function stableOrder(weights: readonly number[]): number[] {
  return weights
    .map((w, i) => ({ w, i }))
    .sort((a, b) => b.w - a.w)
    .map((x) => x.i);
}

/** A small deterministic generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('RankedHosts', () => {
  it('gives the order of a stable sort by weight, ties in input order, for many random fleets', () => {
    const random = seeded(7);
    for (let round = 0; round < 200; round++) {
      const n = Math.floor(random() * 60);
      // Few distinct values, so ties are common.
      const weights = Array.from({ length: n }, () => Math.floor(random() * 5) / 4);
      const hosts = weights.map((_, i) => i);
      assert.deepEqual(drain(new RankedHosts(hosts, weights, 1)), stableOrder(weights), `weights ${weights.join(',')}`);
    }
  });

  it('gives that order with a random one of the best subset first, for many fleets, subsets and picks', () => {
    const random = seeded(11);
    for (let round = 0; round < 300; round++) {
      const n = Math.floor(random() * 40);
      // Runs of equal weights among distinct ones: ties at the edge of the best few as well.
      const weights = Array.from({ length: n }, () => (random() < 0.5 ? 1 : Math.floor(random() * 8) / 8));
      const subset = 1 + Math.floor(random() * 7);
      const pickAt = random();
      const expected = stableOrder(weights);
      const chosen = Math.floor(pickAt * Math.min(subset, n));
      if (subset > 1 && n > 0) expected.unshift(...expected.splice(chosen, 1));
      const hosts = weights.map((_, i) => i);
      const label = `weights ${weights.join(',')} subset ${subset}`;
      assert.deepEqual(drain(new RankedHosts(hosts, weights, subset, () => pickAt)), expected, label);
      // Taken a few at a time, as claims and alternates take them: the same order.
      const ranked = new RankedHosts(
        hosts,
        weights,
        subset,
        () => pickAt,
        () => new Int32Array(n),
      );
      const stepwise: number[] = [];
      for (let batch = ranked.take(3); batch.length; batch = ranked.take(3)) stepwise.push(...batch);
      assert.deepEqual(stepwise, expected, label);
    }
  });

  it('puts one of the best subset first and keeps the rest in order', () => {
    const weights = [0.1, 0.9, 0.5, 0.7, 0.3];
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    // Best three: b (0.9), d (0.7), c (0.5). A random value in [2/3, 1) picks the third of them.
    assert.deepEqual(drain(new RankedHosts(hosts, weights, 3, () => 0.8)), ['c', 'b', 'd', 'e', 'a']);
    assert.deepEqual(drain(new RankedHosts(hosts, weights, 3, () => 0)), ['b', 'd', 'c', 'e', 'a']);
    // A subset larger than the fleet picks among all of them.
    assert.deepEqual(drain(new RankedHosts(hosts, weights, 10, () => 0.99)), ['a', 'b', 'd', 'c', 'e']);
  });

  it('hands out each host once: next() after take() continues, and an empty fleet gives nothing', () => {
    const ranked = new RankedHosts(['x', 'y', 'z'], [3, 2, 1], 1);
    assert.equal(ranked.next(), 'x');
    assert.deepEqual(ranked.take(1), ['y']);
    assert.deepEqual(ranked.take(5), ['z']);
    assert.equal(ranked.next(), undefined);
    assert.deepEqual(ranked.take(0), []);
    assert.equal(new RankedHosts([], [], 3).next(), undefined);
  });
});
