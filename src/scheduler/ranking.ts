/**
 * The hosts in the order the scheduler tries them: a random one of the best `subsetSize` first (Nova's
 * host_subset_size), then the rest best first, ties in the order the hosts were given. The order is the
 * one a full sort would give, but produced lazily: a request needs the first host and a few alternates.
 * One scan finds the best few (`subsetSize` + TOP_EXTRA); only a request that needs more than those
 * (claims refused, alternates rejected) builds a binary heap of the rest. Ranking N hosts then costs one
 * comparison per host for most requests, and O(N + k log N) at worst, instead of O(N log N) per instance.
 */
export class RankedHosts<T> {
  /** Indices into `items` of the best few, best first (ties: lower index first). */
  private readonly best: number[];
  /** How many of `best` were handed out (or moved to `front`). */
  private bestTaken = 0;
  /** Indices into `items` of the rest, a max-heap in heap[0..size) once built. */
  private heap: Int32Array | null = null;
  private size = 0;
  /** Hosts already taken to make the random pick, in order, waiting to be handed out. */
  private readonly front: T[] = [];

  constructor(
    private readonly items: ArrayLike<T>,
    private readonly weights: ArrayLike<number>,
    subsetSize: number,
    random: () => number = Math.random,
    /**
     * Gives where to keep the heap, called only when one is needed: at least as long as `items`, its
     * contents overwritten.
     */
    private readonly heapSpace: (() => Int32Array) | null = null,
  ) {
    const subset = Math.min(subsetSize, items.length);
    this.best = this.bestOf(Math.min(items.length, Math.max(subset, 1) + TOP_EXTRA));
    if (subset > 1) {
      for (let i = 0; i < subset; i++) this.front.push(this.items[this.pop()!]!);
      const pick = Math.floor(random() * subset);
      this.front.unshift(...this.front.splice(pick, 1));
    }
  }

  /** The next host to try, or undefined when none is left. */
  next(): T | undefined {
    if (this.front.length) return this.front.shift();
    const index = this.pop();
    return index === undefined ? undefined : this.items[index];
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

  /** The next index in rank order: from `best`, then from the heap of the others (built on first need). */
  private pop(): number | undefined {
    if (this.bestTaken < this.best.length) return this.best[this.bestTaken++];
    if (!this.heap) this.buildHeap();
    if (!this.size) return undefined;
    const heap = this.heap!;
    const top = heap[0]!;
    this.size--;
    if (this.size > 0) {
      heap[0] = heap[this.size]!;
      this.siftDown(0);
    }
    return top;
  }

  /**
   * The `count` best indices, best first, in one scan: a later index enters only by weighing strictly
   * more than the worst kept (on a tie the earlier one ranks first), after every kept one it does not
   * outweigh.
   */
  private bestOf(count: number): number[] {
    const best: number[] = [];
    if (count === 0) return best;
    const weights = this.weights;
    for (let i = 0; i < this.items.length; i++) {
      const weight = weights[i]!;
      if (best.length === count) {
        if (!(weight > weights[best[count - 1]!]!)) continue;
        best.pop();
      }
      let at = best.length;
      while (at > 0 && weights[best[at - 1]!]! < weight) at--;
      best.splice(at, 0, i);
    }
    return best;
  }

  /** The heap of every index not in `best`. */
  private buildHeap(): void {
    const n = this.items.length;
    const heap = this.heapSpace?.() ?? new Int32Array(n);
    const skip = [...this.best].sort((a, b) => a - b);
    let size = 0;
    for (let i = 0, s = 0; i < n; i++) {
      if (s < skip.length && skip[s] === i) s++;
      else heap[size++] = i;
    }
    this.heap = heap;
    this.size = size;
    for (let i = (size >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(start: number): void {
    const heap = this.heap!;
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

/** Hosts past the random pick found by the first scan: the alternates and a refused claim or two. */
const TOP_EXTRA = 4;
