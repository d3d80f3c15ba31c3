/**
 * The hosts in the order the scheduler tries them: a random one of the best `subsetSize` first (Nova's
 * host_subset_size), then the rest best first, ties in the order the hosts were given. The order is the
 * one a full sort would give, but produced lazily from a binary heap: a request needs the first host and
 * a few alternates, so ranking N hosts costs O(N + k log N) instead of O(N log N) for every instance.
 */
export class RankedHosts<T> {
  /** Indices into `items`, a max-heap by weight (ties: lower index first) in heap[0..size). */
  private readonly heap: Int32Array;
  private size: number;
  /** Hosts already taken from the heap to make the random pick, in order, waiting to be handed out. */
  private readonly front: T[] = [];

  constructor(
    private readonly items: ArrayLike<T>,
    private readonly weights: ArrayLike<number>,
    subsetSize: number,
    random: () => number = Math.random,
  ) {
    this.size = items.length;
    this.heap = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) this.heap[i] = i;
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i);
    const subset = Math.min(subsetSize, this.size);
    if (subset > 1) {
      for (let i = 0; i < subset; i++) this.front.push(this.items[this.pop()]!);
      const pick = Math.floor(random() * subset);
      this.front.unshift(...this.front.splice(pick, 1));
    }
  }

  /** The next host to try, or undefined when none is left. */
  next(): T | undefined {
    if (this.front.length) return this.front.shift();
    return this.size ? this.items[this.pop()] : undefined;
  }

  /** Up to `count` next hosts. */
  take(count: number): T[] {
    const taken: T[] = [];
    while (taken.length < count) {
      const host = this.next();
      if (host === undefined) break;
      taken.push(host);
    }
    return taken;
  }

  private before(a: number, b: number): boolean {
    const wa = this.weights[a]!;
    const wb = this.weights[b]!;
    return wa > wb || (wa === wb && a < b);
  }

  private pop(): number {
    const top = this.heap[0]!;
    this.size--;
    if (this.size > 0) {
      this.heap[0] = this.heap[this.size]!;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) return;
      const right = left + 1;
      const child = right < this.size && this.before(heap[right]!, heap[left]!) ? right : left;
      if (!this.before(heap[child]!, heap[i]!)) return;
      const swap = heap[i]!;
      heap[i] = heap[child]!;
      heap[child] = swap;
      i = child;
    }
  }
}
