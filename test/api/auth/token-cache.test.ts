import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenCache } from '../../../src/api/auth/token-cache.ts';

test('entries expire at their own deadline', () => {
  let now = 1000;
  const cache = new TokenCache<string>(10, () => now);
  cache.set('a', 'A', 1500);
  cache.set('b', 'B', 3000);
  assert.equal(cache.get('a'), 'A');
  now = 1500;
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.get('b'), 'B');
});

test('an entry already past its deadline is not stored', () => {
  const cache = new TokenCache<string>(10, () => 1000);
  cache.set('a', 'A', 1000);
  assert.equal(cache.size, 0);
});

test('the oldest entries go first when full', () => {
  const cache = new TokenCache<number>(2, () => 0);
  cache.set('a', 1, 10);
  cache.set('b', 2, 10);
  cache.set('c', 3, 10);
  assert.deepEqual([cache.get('a'), cache.get('b'), cache.get('c')], [undefined, 2, 3]);
});

test('deleteWhere drops the matching entries only', () => {
  const cache = new TokenCache<{ user: string }>(10, () => 0);
  cache.set('1', { user: 'u1' }, 10);
  cache.set('2', { user: 'u2' }, 10);
  cache.deleteWhere((v) => v.user === 'u1');
  assert.equal(cache.get('1'), undefined);
  assert.deepEqual(cache.get('2'), { user: 'u2' });
});
