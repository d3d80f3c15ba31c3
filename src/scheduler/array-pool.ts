/**
 * Typed arrays for the scheduler's decisions, reused from request to request. A decision at 10,000 hosts
 * needs about 200 KB of them per instance (candidate indices, weights, the ranking's heap); allocated
 * afresh for each, they count as external memory to V8, whose pressure set off young-generation
 * collections of 4 to 8 ms every 150 or so requests in the scheduler benchmark.
 *
 * A request takes its arrays from a lease and gives them all back at once when its decision is over;
 * nothing may keep one past that.
 */

/** Arrays of each kind kept between requests; a request of many instances takes more, and drops the rest. */
const KEPT_PER_KIND = 16;

export class ArrayPool {
  readonly int32: Int32Array[] = [];
  readonly float64: Float64Array[] = [];
  /**
   * The longest array asked for so far: every array is made that long, so that one made for the few
   * hosts left after a filter serves the next request's pass over all of them.
   */
  capacity = 0;

  lease(): ArrayLease {
    return new ArrayLease(this);
  }
}

export class ArrayLease {
  private readonly int32Taken: Int32Array[] = [];
  private readonly float64Taken: Float64Array[] = [];

  constructor(private readonly pool: ArrayPool) {}

  /** An Int32Array of `length`, its contents left from an earlier request. */
  int32(length: number): Int32Array {
    this.pool.capacity = Math.max(this.pool.capacity, length);
    const array = take(this.pool.int32, length) ?? new Int32Array(this.pool.capacity);
    this.int32Taken.push(array);
    return array.subarray(0, length);
  }

  /** A Float64Array of `length`, zeroed. */
  float64(length: number): Float64Array {
    this.pool.capacity = Math.max(this.pool.capacity, length);
    const array = take(this.pool.float64, length) ?? new Float64Array(this.pool.capacity);
    this.float64Taken.push(array);
    return array.subarray(0, length).fill(0);
  }

  /** Gives every array of the lease back; none of them may be read or written after this. */
  release(): void {
    giveBack(this.pool.int32, this.int32Taken.splice(0));
    giveBack(this.pool.float64, this.float64Taken.splice(0));
  }
}

/** A free array of at least `length`, if there is one; arrays too short for the fleet are dropped. */
function take<T extends Int32Array | Float64Array>(free: T[], length: number): T | undefined {
  while (free.length) {
    const array = free.pop()!;
    if (array.length >= length) return array;
  }
  return undefined;
}

function giveBack<T>(free: T[], arrays: T[]): void {
  for (const array of arrays) if (free.length < KEPT_PER_KIND) free.push(array);
}
