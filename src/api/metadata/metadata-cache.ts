/**
 * Nova's metadata_cache_expiration: what was read for an instance (or an address) is kept that many
 * seconds, so a guest's burst of requests at boot (cloud-init reads dozens of paths), and many guests
 * booting at once, cost one set of queries per guest. Concurrent misses share one read.
 */
export class MetadataCache<T> {
  private readonly entries = new Map<string, { expires: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.value;
    if (this.entries.size >= 10_000) this.sweep(now);
    const entry = { expires: now + this.ttlMs, value: load() };
    this.entries.set(key, entry);
    // A failed read is not kept: the next request tries again.
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.value;
  }

  /** Forgets `key` (the guest just changed what it holds: its password). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
  }
}
