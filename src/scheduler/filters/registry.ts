/** Filters by the names `[filter_scheduler] enabled_filters` uses. */
import { ConfigError } from '../../common/errors.ts';
import {
  AvailabilityZoneFilter,
  ComputeFilter,
  CoreFilter,
  DiskFilter,
  RamFilter,
  RetryFilter,
} from './core-filters.ts';
import type { HostFilter } from './filter.ts';

const FILTERS: Record<string, HostFilter> = Object.fromEntries(
  [ComputeFilter, AvailabilityZoneFilter, RamFilter, CoreFilter, DiskFilter, RetryFilter].map((f) => [f.name, f]),
);

export function loadFilters(names: readonly string[]): HostFilter[] {
  return names.map((name) => {
    const filter = FILTERS[name];
    if (!filter) {
      throw new ConfigError(
        `[filter_scheduler] enabled_filters: filter '${name}' is not implemented; available: ${Object.keys(FILTERS).join(', ')}`,
      );
    }
    return filter;
  });
}
