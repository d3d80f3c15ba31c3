/**
 * The scheduler's view of the fleet, kept in memory between requests (Nova's HostManager keeps its
 * HostStates the same way). Reloading every host from the database on each request cost a query per
 * table whose size grows with the fleet; instead the view is reloaded when older than
 * `[scheduler] host_state_refresh_interval`, and the scheduler applies its own placements to it at once.
 * A reload after the first reads only what changed since the last (fleet-changes.ts).
 * A request that finds the view past that age but less than twice it starts a reload in the background
 * and is served the view it has, as are the requests after it until the reload ends, however long it
 * takes: a busy scheduler never makes a request wait for a reload (seconds at 100,000 hosts). A view
 * older than twice the interval (after a quiet spell), or the first, is waited for, and an interval of 0
 * reads the database on every request. What other schedulers claimed meanwhile is caught by the claim itself (the database
 * refuses it), which invalidates the view; what others freed is picked up by the next reload, or at once
 * by the retry the manager makes when no host fits.
 */
import type { Config } from '../common/config/load-config.ts';
import type { Db } from '../common/db/database.ts';
import { poolsByNode, providerUsages } from '../placement/providers.ts';
import { ResourceClass } from '../placement/resource-classes.ts';
import { refreshFleet } from './fleet-changes.ts';
import type { HostColumns } from './host-columns.ts';
import { loadFleet, usagesOf, type Fleet } from './host-manager.ts';

export interface FleetView {
  /** The hosts (`columns.hosts`) and what the resource filters and weighers read of them. */
  readonly columns: HostColumns;
  /** Whether this view was read from the database for this request (a retry on it would see the same). */
  readonly fresh: boolean;
}

export class HostStateCache {
  private fleet: Fleet | null = null;
  private loadedAt = 0;
  private loading: Promise<HostColumns> | null = null;
  private loadingInBackground = false;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {}

  async view(): Promise<FleetView> {
    const maxAgeMs = this.config.scheduler.host_state_refresh_interval * 1000;
    const age = Date.now() - this.loadedAt;
    const columns = this.fleet?.columns;
    if (columns && (age < maxAgeMs || this.loadingInBackground)) return { columns, fresh: false };
    if (columns && age < 2 * maxAgeMs) {
      // A failed background load is not this request's failure: the next request past the age retries it.
      this.reload(true).catch(() => undefined);
      return { columns, fresh: false };
    }
    return { columns: await this.reload(), fresh: true };
  }

  /**
   * Reads the fleet again; concurrent callers share one load. A load started `inBackground` (by traffic,
   * while the view was still young enough) is not waited for by later requests however long it takes:
   * at 100,000 hosts it takes seconds, longer than the interval.
   */
  reload(inBackground = false): Promise<HostColumns> {
    if (!this.loading) {
      const startedAt = Date.now();
      this.loadingInBackground = inBackground;
      // After the first load, only what changed since the last (fleet-changes.ts).
      this.loading = (this.fleet ? refreshFleet(this.db, this.config, this.fleet) : loadFleet(this.db, this.config))
        .then((fleet) => {
          this.fleet = fleet;
          this.loadedAt = startedAt;
          return fleet.columns;
        })
        .finally(() => {
          this.loading = null;
          this.loadingInBackground = false;
        });
    }
    return this.loading;
  }

  /**
   * The view disagreed with the database (a claim was refused): the next request starts a reload in the
   * background. The refused host itself is corrected at once by `refreshHost`.
   */
  invalidate(): void {
    const maxAgeMs = this.config.scheduler.host_state_refresh_interval * 1000;
    this.loadedAt = Math.min(this.loadedAt, Date.now() - maxAgeMs);
  }

  /**
   * Reads host `index` of `columns` again, after a claim on it was refused, so no request tries it on
   * stale figures. The columns are those of the view the request worked from, which a full load may
   * have superseded meanwhile; that view's host and columns stay in step all the same.
   */
  async refreshHost(columns: HostColumns, index: number): Promise<void> {
    const host = columns.hosts[index]!;
    const usages = await providerUsages(this.db, [host.uuid]);
    const usage = usages.get(host.uuid);
    if (usage) host.usages = usagesOf(usage);
    for (const [tier, pool] of poolsByNode(usages).get(host.uuid) ?? []) {
      const state = host.storagePools[tier];
      if (state) state.used = pool.usage.usages[ResourceClass.DISK_GB] ?? 0;
    }
    columns.update(index);
  }
}
