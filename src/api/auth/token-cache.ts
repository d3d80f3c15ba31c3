/**
 * The in-memory cache of validated tokens, so validating a token on the hot path costs no database query.
 * Entries live until their own deadline (the caller picks min(cache_time, token lifetime left)); the size is
 * bounded, dropping the oldest entries first.
 */

interface Entry<V> {
  value: V;
  deadline: number;
}

export class TokenCache<V> {
  readonly #entries = new Map<string, Entry<V>>();

  constructor(
    private readonly maxEntries: number,
    private readonly clock: () => number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.deadline <= this.clock()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, deadline: number): void {
    if (deadline <= this.clock()) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, deadline });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every entry whose value matches; for revocations by user, project or domain. */
  deleteWhere(match: (value: V, key: string) => boolean): void {
    for (const [key, entry] of this.#entries) if (match(entry.value, key)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
