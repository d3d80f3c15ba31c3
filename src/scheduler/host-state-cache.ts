/**
 * The scheduler's view of the fleet, kept in memory between requests (Nova's HostManager keeps its
 * HostStates the same way). Reloading every host from the database on each request cost a query per
 * table whose size grows with the fleet; instead the view is reloaded when older than
 * `[scheduler] host_state_refresh_interval`, and the scheduler applies its own placements to it at once.
 * What other schedulers claimed meanwhile is caught by the claim itself (the database refuses it), which
 * invalidates the view; what others freed is picked up by the next reload, or at once by the retry the
 * manager makes when no host fits.
 */
import type { Config } from '../common/config/load-config.ts';
import type { Db } from '../common/db/database.ts';
import { loadHostStates } from './host-manager.ts';
import type { HostState } from './host-state.ts';

export interface FleetView {
  readonly hosts: HostState[];
  /** Whether this view was read from the database for this request (a retry on it would see the same). */
  readonly fresh: boolean;
}

export class HostStateCache {
  private hosts: HostState[] | null = null;
  private loadedAt = 0;
  private loading: Promise<HostState[]> | null = null;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {}

  async view(): Promise<FleetView> {
    const maxAgeMs = this.config.scheduler.host_state_refresh_interval * 1000;
    if (this.hosts && Date.now() - this.loadedAt < maxAgeMs) return { hosts: this.hosts, fresh: false };
    return { hosts: await this.reload(), fresh: true };
  }

  /** Reads the fleet again; concurrent callers share one load. */
  reload(): Promise<HostState[]> {
    if (!this.loading) {
      const startedAt = Date.now();
      this.loading = loadHostStates(this.db, this.config)
        .then((hosts) => {
          this.hosts = hosts;
          this.loadedAt = startedAt;
          return hosts;
        })
        .finally(() => {
          this.loading = null;
        });
    }
    return this.loading;
  }

  /** The view disagreed with the database: the next request reloads it. */
  invalidate(): void {
    this.loadedAt = 0;
  }
}
