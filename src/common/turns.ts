/**
 * Turns by key within one process: work given the same key runs one after another, in arrival order;
 * work of other keys is not held up.
 *
 * Why: a database row lock queues transactions that want it, but each queued transaction holds a
 * pooled connection while it waits. Fifty creates of one project at once took every connection of an
 * API process's pool (five by default) to wait on that project's quota lock, and reads of other
 * requests waited behind them for a connection: GET /servers/{id} took half a second during a boot
 * storm. Taking turns in memory first, a process sends one transaction per key to the database at a
 * time; the row lock still orders the API processes among themselves.
 */
export class Turns {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` once every earlier work of `key` has settled; answers what it answers. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const mine = previous.then(work, work);
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await mine;
    } finally {
      // The last in line clears its key, so the map holds only keys with work pending.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work running or waiting (for tests). */
  get pendingKeys(): number {
    return this.tails.size;
  }
}
