/**
 * The scheduler (seed 000, FilterScheduler._schedule): filter the hosts, weigh the survivors, pick at
 * random among the best `host_subset_size`, claim the resources atomically, and hand back the choice
 * plus alternates so the conductor can reschedule without asking again.
 */
import type { Config } from '../common/config/load-config.ts';
import type { RequestContext } from '../common/context.ts';
import type { Database } from '../common/db/database.ts';
import { ClaimFailed, NoValidHost } from '../common/errors.ts';
import { getLogger } from '../common/log/logger.ts';
import { claimResources, releaseAllocations, resourcesForFlavor } from '../placement/claims.ts';
import type { HostFilter, FilterRequest } from './filters/filter.ts';
import { loadFilters } from './filters/registry.ts';
import { HostStateCache } from './host-state-cache.ts';
import { consume, type HostState } from './host-state.ts';
import { RankedHosts } from './ranking.ts';
import { antiAffinityGuard, loadRequestHints } from './request-hints.ts';
import type { RequestSpec, Selection } from './request-spec.ts';
import { loadWeighers, weighHosts, type HostWeigher } from './weighers/weigher.ts';

const log = getLogger('scheduler');

export class SchedulerManager {
  private readonly filters: HostFilter[];
  private readonly weighers: HostWeigher[];
  private readonly hostStates: HostStateCache;

  constructor(
    private readonly database: Database,
    private readonly config: Config,
  ) {
    // Unknown names fail here, at start-up, naming the option.
    this.filters = loadFilters(config);
    this.weighers = loadWeighers(config.filter_scheduler.weight_classes);
    this.hostStates = new HostStateCache(database.db, config);
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
      storageTier: spec.storage_tier ?? this.config.storage.default_tier,
      hints,
    };
    const view = await this.hostStates.view();
    try {
      return await this.place(view.hosts, request, instanceUuids);
    } catch (err) {
      // The view may still count capacity that was freed since it was read: look again before giving up.
      if (!(err instanceof NoValidHost) || view.fresh) throw err;
      return this.place(await this.hostStates.reload(), request, instanceUuids);
    }
  }

  private async place(
    hosts: HostState[],
    request: FilterRequest,
    instanceUuids: readonly string[],
  ): Promise<Selection[][]> {
    // Only the filters with something to check for this request run over the hosts: for a plain request
    // that leaves the service state and the resource fit of the ~15 enabled filters.
    const applicable = this.filters.filter((f) => !f.appliesTo || f.appliesTo(request));
    const eligible = this.runFilters(
      hosts,
      request,
      applicable.filter((f) => f.runOncePerRequest),
      instanceUuids[0],
    );
    const perInstance = applicable.filter((f) => !f.runOncePerRequest);
    const claimed: Pick[] = [];
    try {
      for (const uuid of instanceUuids) {
        const candidates = this.runFilters(eligible, request, perInstance, uuid);
        const pick = await this.claimBest(uuid, candidates, request);
        claimed.push(pick);
        // The next instances of the request see this one as a member of its group on that host.
        request.hints.group?.record(pick.host.host);
      }
    } catch (err) {
      for (const { uuid, host } of claimed) {
        await releaseAllocations(this.database.db, uuid);
        consume(host, request.resources, -1, request.storageTier);
        request.hints.group?.record(host.host, -1);
      }
      throw err;
    }
    const recheck = claimed.length > 1 ? perInstance : [];
    return claimed.map((pick) => [toSelection(pick.host), ...this.alternates(pick, request, recheck)]);
  }

  /**
   * Up to `max_attempts - 1` hosts a reschedule of this instance may use, best first. When the request
   * placed several instances, only hosts that still pass the per-instance filters once all of them are
   * placed, as Nova re-filters for alternates: an anti-affinity alternate is then never a host another
   * member of the request went to, and a host the request filled up is no alternate either.
   */
  private alternates(pick: Pick, request: FilterRequest, recheck: readonly HostFilter[]): Selection[] {
    const wanted = this.config.scheduler.max_attempts - 1;
    const result: Selection[] = [];
    for (let host = pick.order.next(); host && result.length < wanted; host = pick.order.next()) {
      if (!recheck.every((f) => f.passes(host!, request))) continue;
      result.push(toSelection(host));
    }
    return result;
  }

  /**
   * The hosts that pass every filter, in one pass over the hosts (one array, not one per filter). Each
   * host is charged to the first filter it fails, which gives the same per-filter counts as filtering
   * filter by filter; they are logged, as Nova logs them, when no host is left.
   */
  private runFilters(
    hosts: HostState[],
    request: FilterRequest,
    filters: readonly HostFilter[],
    uuid: string | undefined,
  ): HostState[] {
    // No hosts to start with: the pass that removed them all has already said so.
    if (!filters.length || !hosts.length) return hosts;
    const removed = new Array<number>(filters.length).fill(0);
    const remaining: HostState[] = [];
    for (const host of hosts) {
      let failed = -1;
      for (let f = 0; f < filters.length; f++) {
        if (!filters[f]!.passes(host, request)) {
          failed = f;
          break;
        }
      }
      if (failed < 0) remaining.push(host);
      else removed[failed]!++;
    }
    if (!remaining.length) {
      const counts: string[] = [];
      let start = hosts.length;
      for (let f = 0; f < filters.length && (f === 0 || start > 0); f++) {
        counts.push(`'${filters[f]!.name}: (start: ${start}, end: ${start - removed[f]!})'`);
        start -= removed[f]!;
      }
      log.info(
        `Filtering removed all hosts for the request with instance ID '${uuid}'. Filter results: [${counts.join(', ')}]`,
      );
    }
    return remaining;
  }

  private async claimBest(uuid: string, candidates: HostState[], request: FilterRequest): Promise<Pick> {
    const weights = weighHosts(candidates, this.weighers, this.config, request);
    // Random choice among the best host_subset_size spreads concurrent schedulers over several hosts.
    const order = new RankedHosts(candidates, weights, this.config.filter_scheduler.host_subset_size);
    for (let host = order.next(); host; host = order.next()) {
      // Counted in the view before the claim's round trips, not after: requests this scheduler handles
      // meanwhile then see the host as taken and go elsewhere instead of queueing on the same row locks.
      consume(host, request.resources, 1, request.storageTier);
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
        consume(host, request.resources, -1, request.storageTier);
        if (err instanceof ClaimFailed) {
          this.hostStates.invalidate();
          await this.hostStates.refreshHost(host);
          log.info({ host: host.host, node: host.nodename, reason: err.message }, 'claim lost, trying the next host');
          continue;
        }
        // Taking the placement back may have undone what a reload read meanwhile (the view patches
        // usage in place, and the row is not stamped again): read the host back if the database answers.
        await this.hostStates.refreshHost(host).catch(() => undefined);
        throw err;
      }
      return { uuid, host, order };
    }
    throw new NoValidHost('No valid host was found. There are not enough hosts available.');
  }
}

/** One instance's claimed host, and the ranking it was chosen from (its alternates come from the rest). */
interface Pick {
  readonly uuid: string;
  readonly host: HostState;
  readonly order: RankedHosts<HostState>;
}

function toSelection(host: HostState): Selection {
  return {
    service_host: host.host,
    nodename: host.nodename,
    compute_node_uuid: host.uuid,
    availability_zone: host.availabilityZone,
  };
}
