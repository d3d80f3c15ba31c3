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
    this.filters = loadFilters(config.filter_scheduler.enabled_filters);
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
    const view = await this.hostStates.view();
    try {
      return await this.place(view.hosts, spec, instanceUuids);
    } catch (err) {
      // The view may still count capacity that was freed since it was read: look again before giving up.
      if (!(err instanceof NoValidHost) || view.fresh) throw err;
      return this.place(await this.hostStates.reload(), spec, instanceUuids);
    }
  }

  private async place(hosts: HostState[], spec: RequestSpec, instanceUuids: readonly string[]): Promise<Selection[][]> {
    const request: FilterRequest = { spec, resources: resourcesForFlavor(spec.flavor) };
    const eligible = this.runFilters(
      hosts,
      request,
      this.filters.filter((f) => f.runOncePerRequest),
      instanceUuids[0],
    );
    const perInstance = this.filters.filter((f) => !f.runOncePerRequest);
    const results: Selection[][] = [];
    const claimed: { uuid: string; host: HostState }[] = [];
    try {
      for (const uuid of instanceUuids) {
        const candidates = this.runFilters(eligible, request, perInstance, uuid);
        const chosen = await this.claimBest(uuid, candidates, request);
        claimed.push({ uuid, host: chosen.host });
        consume(chosen.host, request.resources);
        results.push([toSelection(chosen.host), ...chosen.alternates.map(toSelection)]);
      }
    } catch (err) {
      for (const { uuid, host } of claimed) {
        await releaseAllocations(this.database.db, uuid);
        consume(host, request.resources, -1);
      }
      throw err;
    }
    return results;
  }

  private runFilters(
    hosts: HostState[],
    request: FilterRequest,
    filters: readonly HostFilter[],
    uuid: string | undefined,
  ): HostState[] {
    let remaining = hosts;
    const counts: string[] = [];
    for (const filter of filters) {
      const before = remaining.length;
      remaining = remaining.filter((h) => filter.passes(h, request));
      counts.push(`${filter.name}: (start: ${before}, end: ${remaining.length})`);
      if (!remaining.length) {
        log.info(
          `Filtering removed all hosts for the request with instance ID '${uuid}'. Filter results: [${counts.map((c) => `'${c}'`).join(', ')}]`,
        );
        break;
      }
    }
    return remaining;
  }

  private async claimBest(
    uuid: string,
    candidates: HostState[],
    request: FilterRequest,
  ): Promise<{ host: HostState; alternates: HostState[] }> {
    const weights = weighHosts(candidates, this.weighers, this.config);
    const ranked = candidates.map((host, i) => ({ host, weight: weights[i]! })).sort((a, b) => b.weight - a.weight);
    const order = ranked.map((r) => r.host);
    // Random choice among the best host_subset_size spreads concurrent schedulers over several hosts.
    const subset = Math.min(this.config.filter_scheduler.host_subset_size, order.length);
    if (subset > 1) {
      const pick = Math.floor(Math.random() * subset);
      order.unshift(...order.splice(pick, 1));
    }
    for (let i = 0; i < order.length; i++) {
      const host = order[i]!;
      try {
        await claimResources(this.database.db, uuid, host.uuid, request.resources);
      } catch (err) {
        if (err instanceof ClaimFailed) {
          this.hostStates.invalidate();
          log.info({ host: host.host, node: host.nodename, reason: err.message }, 'claim lost, trying the next host');
          continue;
        }
        throw err;
      }
      const alternates = order.slice(i + 1, i + this.config.scheduler.max_attempts);
      return { host, alternates };
    }
    throw new NoValidHost('No valid host was found. There are not enough hosts available.');
  }
}

function toSelection(host: HostState): Selection {
  return {
    service_host: host.host,
    nodename: host.nodename,
    compute_node_uuid: host.uuid,
    availability_zone: host.availabilityZone,
  };
}
