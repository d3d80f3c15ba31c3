/** The scheduler's pool of typed arrays: leases never share an array, and released arrays are reused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArrayPool } from '../../src/scheduler/array-pool.ts';

describe('ArrayPool', () => {
  it('gives two leases open at once different arrays, and one lease a new array per call', () => {
    const pool = new ArrayPool();
    const first = pool.lease();
    const second = pool.lease();
    const arrays = [first.int32(10), first.int32(10), second.int32(10)];
    arrays.forEach((array, i) => array.fill(i + 1));
    assert.deepEqual(
      arrays.map((array) => array[0]),
      [1, 2, 3],
    );
    assert.equal(new Set(arrays.map((array) => array.buffer)).size, 3);
  });

  it('reuses released arrays, hands out the length asked for, and zeroes Float64Arrays', () => {
    const pool = new ArrayPool();
    const lease = pool.lease();
    const ints = lease.int32(100);
    const floats = lease.float64(100);
    floats.fill(7);
    lease.release();
    const next = pool.lease();
    const shorter = next.int32(40);
    const zeroed = next.float64(40);
    assert.equal(shorter.buffer, ints.buffer);
    assert.equal(zeroed.buffer, floats.buffer);
    assert.equal(shorter.length, 40);
    assert.deepEqual([...zeroed], new Array<number>(40).fill(0));
  });

  it('makes every array as long as the longest asked for, and drops those too short', () => {
    const pool = new ArrayPool();
    const lease = pool.lease();
    const short = lease.int32(10);
    lease.release();
    const next = pool.lease();
    const long = next.int32(1000);
    assert.notEqual(long.buffer, short.buffer);
    next.release();
    // After a pass over 1,000 hosts, an array for 10 is one of 1,000: the next 1,000 reuses it.
    const third = pool.lease();
    const few = third.int32(10);
    assert.equal(few.buffer.byteLength, 1000 * Int32Array.BYTES_PER_ELEMENT);
    third.release();
    assert.equal(pool.lease().int32(1000).buffer, few.buffer);
  });

  it('keeps a bounded number of arrays after a request of many instances', () => {
    const pool = new ArrayPool();
    const lease = pool.lease();
    for (let i = 0; i < 100; i++) lease.float64(8);
    lease.release();
    assert.equal(pool.float64.length, 16);
  });
});
