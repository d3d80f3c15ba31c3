/**
 * The scheduler (after Nova's FilterScheduler._schedule): filter the hosts, weigh the survivors, pick at
 * random among the best `host_subset_size`, claim the resources atomically, and hand back the choice
 * plus alternates so the conductor can reschedule without asking again.
 */
import type { Config } from '../common/config/load-config.ts';
import type { RequestContext } from '../common/context.ts';
import type { Database } from '../common/db/database.ts';
import { ClaimFailed, NoValidHost } from '../common/errors.ts';
import { schedulerClaimConflicts, schedulerDecisions } from '../common/metrics/metrics.ts';
import { getLogger } from '../common/log/logger.ts';
import { claimResources, releaseAllocations, resourcesForFlavor } from '../placement/claims.ts';
import { ArrayPool, type ArrayLease } from './array-pool.ts';
import { keepPassing, type FilterRequest, type HostFilter } from './filters/filter.ts';
import { loadFilters } from './filters/registry.ts';
import { allIndices, type HostColumns } from './host-columns.ts';
import { HostStateCache } from './host-state-cache.ts';
import type { HostState } from './host-state.ts';
import { RankedHosts } from './ranking.ts';
import { antiAffinityGuard, loadRequestHints } from './request-hints.ts';
import { keepRequestedDestination } from './requested-destination.ts';
import { SelectionShape, type RequestSpec, type Selection } from '../wire/messages/request-spec.ts';
import { loadWeighers, weighHosts, type HostWeigher } from './weighers/weigher.ts';

const log = getLogger('scheduler');

export class SchedulerManager {
  private readonly filters: HostFilter[];
  private readonly weighers: HostWeigher[];
  private readonly arrays = new ArrayPool();

  /** `hostStates`: the view to work from; tests pass one to look at it. */
  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly hostStates = new HostStateCache(database.db, config),
  ) {
    // Unknown names fail here, at start-up, naming the option.
    this.filters = loadFilters(config);
    this.weighers = loadWeighers(config.filter_scheduler.weight_classes);
  }

  /**
   * Chooses and claims a host for each instance. Returns, per instance, the claimed host first and then
   * up to `max_attempts - 1` unclaimed alternates. All or nothing: if one instance finds no host, the
   * claims already made for the others are released and NoValidHost is raised.
   */
  async selectDestinations(
    _ctx: RequestContext,
    spec: RequestSpec,
    instanceUuids: readonly string[],
  ): Promise<Selection[][]> {
    const hints = await loadRequestHints(this.database.db, spec, instanceUuids);
    const request: FilterRequest = {
      spec,
      resources: resourcesForFlavor(spec.flavor),
      storageTier: spec.storage_tier,
      hints,
    };
    const view = await this.hostStates.view();
    let selections: Selection[][];
    try {
      try {
        selections = await this.place(view.columns, request, instanceUuids);
      } catch (err) {
        // The view may still count capacity that was freed since it was read: look again before giving up.
        if (!(err instanceof NoValidHost) || view.fresh) throw err;
        selections = await this.place(await this.hostStates.reload(), request, instanceUuids);
      }
    } catch (err) {
      if (err instanceof NoValidHost) schedulerDecisions.inc({ outcome: 'no_valid_host' }, instanceUuids.length);
      throw err;
    }
    schedulerDecisions.inc({ outcome: 'selected' }, instanceUuids.length);
    return selections;
  }

  /**
   * The decision works on host indices into the view (`columns.hosts`), so that the filters and weighers
   * that can read the view's typed arrays do (host-columns.ts).
   */
  private async place(
    columns: HostColumns,
    request: FilterRequest,
    instanceUuids: readonly string[],
  ): Promise<Selection[][]> {
    // The decision's typed arrays come from the pool and go back to it when it is over.
    const lease = this.arrays.lease();
    try {
      return await this.decide(columns, request, instanceUuids, lease);
    } finally {
      lease.release();
    }
  }

  private async decide(
    columns: HostColumns,
    request: FilterRequest,
    instanceUuids: readonly string[],
    lease: ArrayLease,
  ): Promise<Selection[][]> {
    // Only the filters with something to check for this request run over the hosts: for a plain request
    // that leaves the service state and the resource fit of the enabled filters.
    const applicable = this.filters.filter((f) => !f.appliesTo || f.appliesTo(request));
    const hostCount = columns.hosts.length;
    const destined = keepRequestedDestination(
      allIndices(hostCount, lease.int32(hostCount)),
      columns,
      request.spec.requested_destination,
    );
    const eligible = this.runFilters(
      columns,
      lease,
      destined,
      request,
      applicable.filter((f) => f.runOncePerRequest),
      instanceUuids[0],
    );
    const perInstance = applicable.filter((f) => !f.runOncePerRequest);
    const claimed: Pick[] = [];
    try {
      for (const uuid of instanceUuids) {
        const candidates = this.runFilters(columns, lease, eligible, request, perInstance, uuid);
        const pick = await this.claimBest(uuid, columns, lease, candidates, request);
        claimed.push(pick);
        // The next instances of the request see this one as a member of its group on that host.
        request.hints.group?.record(pick.host.host);
      }
    } catch (err) {
      for (const { uuid, host, index } of claimed) {
        await releaseAllocations(this.database.db, uuid);
        columns.consume(index, request.resources, -1, request.storageTier);
        request.hints.group?.record(host.host, -1);
      }
      throw err;
    }
    const recheck = claimed.length > 1 ? perInstance : [];
    return claimed.map((pick) => [toSelection(pick.host), ...this.alternates(columns, pick, request, recheck)]);
  }

  /**
   * Up to `max_attempts - 1` hosts a reschedule of this instance may use, best first. When the request
   * placed several instances, only hosts that still pass the per-instance filters once all of them are
   * placed, as Nova re-filters for alternates: an anti-affinity alternate is then never a host another
   * member of the request went to, and a host the request filled up is no alternate either.
   */
  private alternates(
    columns: HostColumns,
    pick: Pick,
    request: FilterRequest,
    recheck: readonly HostFilter[],
  ): Selection[] {
    const wanted = this.config.scheduler.max_attempts - 1;
    const result: Selection[] = [];
    for (let index = pick.order.next(); index !== undefined && result.length < wanted; index = pick.order.next()) {
      const host = columns.hosts[index]!;
      if (!recheck.every((f) => f.passes(host, request))) continue;
      result.push(toSelection(host));
    }
    return result;
  }

  /**
   * The indices, among `input`, of the hosts that pass every filter. Filter by filter over one array of
   * indices, each compacting it in place (no array per filter; those with `keep` read the view's
   * columns): each host is charged to the first filter it fails, the per-filter counts Nova logs when
   * no host is left. `input` is left as it was.
   */
  private runFilters(
    columns: HostColumns,
    lease: ArrayLease,
    input: Int32Array,
    request: FilterRequest,
    filters: readonly HostFilter[],
    uuid: string | undefined,
  ): Int32Array {
    // No hosts to start with: the pass that removed them all has already said so.
    if (!filters.length || !input.length) return input;
    const candidates = lease.int32(input.length);
    candidates.set(input);
    let count = candidates.length;
    const removed = new Array<number>(filters.length).fill(0);
    for (let f = 0; f < filters.length && count > 0; f++) {
      const before = count;
      count = keepPassing(filters[f]!, candidates, count, columns, request);
      removed[f] = before - count;
    }
    if (!count) {
      const counts: string[] = [];
      let start = input.length;
      for (let f = 0; f < filters.length && (f === 0 || start > 0); f++) {
        counts.push(`'${filters[f]!.name}: (start: ${start}, end: ${start - removed[f]!})'`);
        start -= removed[f]!;
      }
      log.info(
        `Filtering removed all hosts for the request with instance ID '${uuid}'. Filter results: [${counts.join(', ')}]`,
      );
    }
    return candidates.subarray(0, count);
  }

  private async claimBest(
    uuid: string,
    columns: HostColumns,
    lease: ArrayLease,
    candidates: Int32Array,
    request: FilterRequest,
  ): Promise<Pick> {
    const n = candidates.length;
    const weights = weighHosts(columns, candidates, this.weighers, this.config, request, lease.float64(n));
    // Random choice among the best host_subset_size spreads concurrent schedulers over several hosts.
    const subset = this.config.filter_scheduler.host_subset_size;
    const order = new RankedHosts(candidates, weights, subset, Math.random, () => lease.int32(n));
    for (let index = order.next(); index !== undefined; index = order.next()) {
      const host = columns.hosts[index]!;
      // Counted in the view before the claim's round trips, not after: requests this scheduler handles
      // meanwhile then see the host as taken and go elsewhere instead of queueing on the same row locks.
      columns.consume(index, request.resources, 1, request.storageTier);
      try {
        await claimResources(
          this.database.db,
          uuid,
          host.uuid,
          request.resources,
          request.storageTier,
          antiAffinityGuard(request.hints.group),
        );
      } catch (err) {
        columns.consume(index, request.resources, -1, request.storageTier);
        if (err instanceof ClaimFailed) {
          schedulerClaimConflicts.inc();
          this.hostStates.invalidate();
          await this.hostStates.refreshHost(columns, index);
          log.info({ host: host.host, node: host.nodename, reason: err.message }, 'claim lost, trying the next host');
          continue;
        }
        // Taking the placement back may have undone what a reload read meanwhile (the view patches
        // usage in place, and the row is not stamped again): read the host back if the database answers.
        await this.hostStates.refreshHost(columns, index).catch(() => undefined);
        throw err;
      }
      return { uuid, host, index, order };
    }
    throw new NoValidHost('No valid host was found. There are not enough hosts available.');
  }
}

/** One instance's claimed host, and the ranking it was chosen from (its alternates come from the rest). */
interface Pick {
  readonly uuid: string;
  readonly host: HostState;
  /** The host's index in the view. */
  readonly index: number;
  /** Host indices, best first. */
  readonly order: RankedHosts<number>;
}

function toSelection(host: HostState): Selection {
  return SelectionShape.build({
    service_host: host.host,
    nodename: host.nodename,
    compute_node_uuid: host.uuid,
    availability_zone: host.availabilityZone,
  });
}
