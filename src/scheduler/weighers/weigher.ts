/**
 * The weigher contract, as Nova's: each weigher gives every host a raw weight; raw weights are normalized
 * to 0..1 across the hosts, multiplied by the weigher's multiplier and summed. Highest total wins.
 *
 * A multiplier is the `[filter_scheduler]` option the weigher names, unless one of the host's aggregates
 * sets a metadata key of the same name (the smallest such value wins), as Nova's get_weight_multiplier:
 * operators can, say, stack on one aggregate's hosts and spread on the others'.
 */
import type { Config } from '../../common/config/load-config.ts';
import { ConfigError } from '../../common/errors.ts';
import { getLogger } from '../../common/log/logger.ts';
import type { FilterRequest } from '../filters/filter.ts';
import type { HostColumns } from '../host-columns.ts';
import type { HostState } from '../host-state.ts';
import { BuildFailureWeigher } from './build-failure-weigher.ts';
import { CPUWeigher, DiskWeigher, RAMWeigher } from './resource-weighers.ts';
import { ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher } from './server-group-weighers.ts';

const log = getLogger('scheduler');

export type MultiplierOption =
  | 'ram_weight_multiplier'
  | 'cpu_weight_multiplier'
  | 'disk_weight_multiplier'
  | 'soft_affinity_weight_multiplier'
  | 'soft_anti_affinity_weight_multiplier'
  | 'build_failure_weight_multiplier';

export interface HostWeigher {
  readonly name: string;
  /** The `[filter_scheduler]` option (and aggregate metadata key) holding the multiplier. */
  readonly multiplierOption: MultiplierOption;
  /** -1 for weighers whose raw weight counts against a host (Nova negates their multiplier). */
  readonly sign?: -1;
  /** False when the weigher cannot tell the hosts of this request apart (it is then skipped). */
  appliesTo?(request: FilterRequest): boolean;
  weigh(host: HostState, request: FilterRequest): number;
  /** The raw weights as a column of the view, when they are one: read instead of calling `weigh` per host. */
  column?(columns: HostColumns): Float64Array;
}

const WEIGHERS: Record<string, HostWeigher> = Object.fromEntries(
  [
    RAMWeigher,
    CPUWeigher,
    DiskWeigher,
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
    BuildFailureWeigher,
  ].map((w) => [w.name, w]),
);

export const WEIGHER_NAMES: readonly string[] = Object.keys(WEIGHERS);

export function loadWeighers(names: readonly string[]): HostWeigher[] {
  return names.map((name) => {
    const weigher = WEIGHERS[name];
    if (!weigher) {
      throw new ConfigError(
        `[filter_scheduler] weight_classes: weigher '${name}' is not implemented; available: ${WEIGHER_NAMES.join(', ')}`,
      );
    }
    return weigher;
  });
}

const warned = new Set<string>();

/** The multiplier for `host`: the smallest value its aggregates give the option's key, else the option. */
function multiplierFor(host: HostState, option: MultiplierOption, configured: number): number {
  let smallest: number | null = null;
  for (const aggregate of host.aggregates) {
    const text = aggregate.metadata[option];
    if (text === undefined) continue;
    const value = Number(text);
    if (text.trim() === '' || Number.isNaN(value)) {
      const key = `${aggregate.uuid}:${option}`;
      if (!warned.has(key)) {
        warned.add(key);
        log.warn(`Could not decode '${option}' metadata '${text}' of aggregate ${aggregate.name}; using ${configured}`);
      }
      return configured;
    }
    smallest = smallest === null ? value : Math.min(smallest, value);
  }
  return smallest ?? configured;
}

/**
 * Each host's multiplier for `option` (`multiplierFor`), or null when no host's aggregates set one: then
 * it is `configured` for all. Aggregates change only with a full load, which builds new columns, so this
 * is worked out once per view and option rather than per host for every instance.
 */
function multipliersOf(columns: HostColumns, option: MultiplierOption, configured: number): Float64Array | null {
  let byOption = multiplierCache.get(columns);
  if (!byOption) multiplierCache.set(columns, (byOption = new Map()));
  const key = `${option}=${configured}`;
  let multipliers = byOption.get(key);
  if (multipliers === undefined) {
    multipliers = null;
    const { hosts, inAggregate } = columns;
    for (let index = 0; index < hosts.length; index++) {
      if (!inAggregate[index] || !hosts[index]!.aggregates.some((a) => a.metadata[option] !== undefined)) continue;
      multipliers ??= new Float64Array(hosts.length).fill(configured);
      multipliers[index] = multiplierFor(hosts[index]!, option, configured);
    }
    byOption.set(key, multipliers);
  }
  return multipliers;
}

const multiplierCache = new WeakMap<HostColumns, Map<string, Float64Array | null>>();

/** The raw weights of weighers without a column, by host index; reused, as no call keeps them. */
let scratch = new Float64Array(0);

/**
 * Normalized, multiplied and summed weights of the hosts at `candidates` (indices into the view), in
 * that order, written into `totals` (zeroed, as long as `candidates`).
 */
export function weighHosts(
  columns: HostColumns,
  candidates: Int32Array,
  weighers: readonly HostWeigher[],
  config: Config,
  request: FilterRequest,
  totals: Float64Array = new Float64Array(candidates.length),
): Float64Array {
  // Typed arrays and plain loops: this runs over every host for every instance of a request.
  const n = candidates.length;
  for (const weigher of weighers) {
    if (weigher.appliesTo && !weigher.appliesTo(request)) continue;
    const configured = config.filter_scheduler[weigher.multiplierOption];
    const multipliers = multipliersOf(columns, weigher.multiplierOption, configured);
    // A multiplier of 0 adds nothing, unless an aggregate gives some hosts another one.
    if (configured === 0 && multipliers === null) continue;
    // Raw weights by host index: the weigher's column, or `weigh` written into a reused array.
    let values = weigher.column?.(columns);
    let min = Infinity;
    let max = -Infinity;
    if (values) {
      for (let i = 0; i < n; i++) {
        const value = values[candidates[i]!]!;
        if (value < min) min = value;
        if (value > max) max = value;
      }
    } else {
      const hosts = columns.hosts;
      if (scratch.length < hosts.length) scratch = new Float64Array(hosts.length);
      values = scratch;
      for (let i = 0; i < n; i++) {
        const index = candidates[i]!;
        const value = weigher.weigh(hosts[index]!, request);
        values[index] = value;
        if (value < min) min = value;
        if (value > max) max = value;
      }
    }
    const range = max - min;
    // Equal raw weights normalize to 0 everywhere (Nova's normalize): nothing to add.
    if (range === 0) continue;
    const sign = weigher.sign ?? 1;
    // The same arithmetic, in the same order, as with a multiplier per host: equal weights stay equal.
    if (multipliers === null) {
      const factor = sign * configured;
      for (let i = 0; i < n; i++) totals[i]! += factor * ((values[candidates[i]!]! - min) / range);
    } else {
      for (let i = 0; i < n; i++) {
        const index = candidates[i]!;
        totals[i]! += sign * multipliers[index]! * ((values[index]! - min) / range);
      }
    }
  }
  return totals;
}
