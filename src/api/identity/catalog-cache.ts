/**
 * The catalog tokens carry, read from the database once and kept in memory, so issuing a token costs
 * no catalog query. An edit through this process's catalog API drops it at once (`invalidate`); edits
 * made through another api process are seen when the copy expires (`[catalog] cache_time` seconds).
 */
import type { Db } from '../../common/db/database.ts';
import { catalogForToken, catalogFromRows, type CatalogService } from './catalog.ts';
import { listCatalogServices, listEndpoints } from './store/catalog.ts';

export class CatalogCache {
  private current: { catalog: readonly CatalogService[]; loadedAt: number } | null = null;
  private loading: Promise<readonly CatalogService[]> | null = null;
  /** Bumped by invalidate, so a read that began before an edit does not store what it read. */
  private generation = 0;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(): Promise<readonly CatalogService[]> {
    const current = this.current;
    if (current && this.clock() - current.loadedAt < this.ttlMs) return current.catalog;
    // Requests arriving while a read is under way share it.
    this.loading ??= this.load();
    return this.loading;
  }

  /** The catalog a token of this user and project lists (catalogForToken). */
  async forToken(token: { projectId: string | null; userId: string }): Promise<readonly CatalogService[]> {
    return catalogForToken(await this.get(), token);
  }

  invalidate(): void {
    this.generation++;
    this.current = null;
    this.loading = null;
  }

  private async load(): Promise<readonly CatalogService[]> {
    const generation = this.generation;
    const startedAt = this.clock();
    try {
      const [services, endpoints] = await Promise.all([listCatalogServices(this.db), listEndpoints(this.db)]);
      const catalog = catalogFromRows(services, endpoints);
      if (generation === this.generation) this.current = { catalog, loadedAt: startedAt };
      return catalog;
    } finally {
      if (generation === this.generation) this.loading = null;
    }
  }
}
