/** Filters by the names `[filter_scheduler] enabled_filters` uses. */
import type { Config } from '../../common/config/load-config.ts';
import { ConfigError } from '../../common/errors.ts';
import {
  DifferentHostFilter,
  SameHostFilter,
  ServerGroupAffinityFilter,
  ServerGroupAntiAffinityFilter,
} from './affinity-filters.ts';
import { AggregateInstanceExtraSpecsFilter, AggregateMultiTenancyIsolation } from './aggregate-filters.ts';
import { ComputeCapabilitiesFilter } from './compute-capabilities-filter.ts';
import {
  AvailabilityZoneFilter,
  ComputeFilter,
  CoreFilter,
  DiskFilter,
  RamFilter,
  RetryFilter,
} from './core-filters.ts';
import type { HostFilter } from './filter.ts';
import { imagePropertiesFilter } from './image-properties-filter.ts';
import { JsonFilter } from './json-filter.ts';

/** Each filter by name, built from the configuration (most need none of it). */
export const FILTER_FACTORIES: Readonly<Record<string, (config: Config) => HostFilter>> = {
  ...Object.fromEntries(
    [
      ComputeFilter,
      AvailabilityZoneFilter,
      RamFilter,
      CoreFilter,
      DiskFilter,
      RetryFilter,
      JsonFilter,
      SameHostFilter,
      DifferentHostFilter,
      ServerGroupAffinityFilter,
      ServerGroupAntiAffinityFilter,
      AggregateInstanceExtraSpecsFilter,
      AggregateMultiTenancyIsolation,
      ComputeCapabilitiesFilter,
    ].map((f) => [f.name, () => f]),
  ),
  ImagePropertiesFilter: imagePropertiesFilter,
};

export function loadFilters(config: Config): HostFilter[] {
  return config.filter_scheduler.enabled_filters.map((name) => {
    const factory = FILTER_FACTORIES[name];
    if (!factory) {
      throw new ConfigError(
        `[filter_scheduler] enabled_filters: filter '${name}' is not implemented; available: ${Object.keys(FILTER_FACTORIES).join(', ')}`,
      );
    }
    return factory(config);
  });
}
