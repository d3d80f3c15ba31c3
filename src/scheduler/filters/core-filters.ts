/** The basic filters: service state, availability zone, resource fit and retry exclusion. */
import type { HostColumns } from '../host-columns.ts';
import { free, freeInPool } from '../host-state.ts';
import { keepAtLeast, type HostFilter } from './filter.ts';

/** Hosts whose compute service is up and enabled. */
export const ComputeFilter: HostFilter = {
  name: 'ComputeFilter',
  runOncePerRequest: true,
  passes: (host) => host.serviceUp && !host.serviceDisabled,
  keep(candidates, count, { usable }) {
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const index = candidates[i]!;
      if (usable[index] === 1) candidates[kept++] = index;
    }
    return kept;
  },
};

/** Hosts in the availability zone the request names, if it names one. */
export const AvailabilityZoneFilter: HostFilter = {
  name: 'AvailabilityZoneFilter',
  runOncePerRequest: true,
  appliesTo: ({ spec }) => !!spec.availability_zone,
  passes: (host, { spec }) => !spec.availability_zone || spec.availability_zone === host.availabilityZone,
};

/** Whether the request asks for any of `resourceClasses` (a filter of resources it does not ask for has nothing to check). */
const asksFor =
  (...resourceClasses: string[]): NonNullable<HostFilter['appliesTo']> =>
  ({ resources }) =>
    resourceClasses.some((resourceClass) => (resources[resourceClass] ?? 0) !== 0);

function fits(resourceClass: string): HostFilter['passes'] {
  return (host, { resources }) => {
    const wanted = resources[resourceClass] ?? 0;
    return wanted === 0 || free(host, resourceClass) >= wanted;
  };
}

/** `fits(resourceClass)` over the candidates, reading the class's column of free amounts. */
function keepFitting(
  resourceClass: string,
  column: (columns: HostColumns) => Float64Array,
): NonNullable<HostFilter['keep']> {
  return (candidates, count, columns, { resources }) => {
    const wanted = resources[resourceClass] ?? 0;
    return wanted === 0 ? count : keepAtLeast(candidates, count, column(columns), wanted);
  };
}

/** Enough MEMORY_MB left after the allocation ratio and reserved memory. */
export const RamFilter: HostFilter = {
  name: 'RamFilter',
  appliesTo: asksFor('MEMORY_MB'),
  passes: fits('MEMORY_MB'),
  keep: keepFitting('MEMORY_MB', (columns) => columns.freeRam),
};
/** Enough VCPU (shared CPUs) left after the allocation ratio, or enough PCPU (dedicated CPUs). */
const fitsVcpu = fits('VCPU');
const fitsPcpu = fits('PCPU');
const keepVcpu = keepFitting('VCPU', (columns) => columns.freeVcpu);
const keepPcpu = keepFitting('PCPU', (columns) => columns.freePcpu);
export const CoreFilter: HostFilter = {
  name: 'CoreFilter',
  appliesTo: asksFor('VCPU', 'PCPU'),
  passes: (host, request) => fitsVcpu(host, request) && fitsPcpu(host, request),
  keep: (candidates, count, columns, request) =>
    keepPcpu(candidates, keepVcpu(candidates, count, columns, request), columns, request),
};
/**
 * Enough DISK_GB left after the allocation ratio and reserved disk, in the pool of the requested
 * storage tier: a host without a pool of that tier never passes.
 */
const fitsDisk = fits('DISK_GB');
const keepDisk = keepFitting('DISK_GB', (columns) => columns.freeDisk);
export const DiskFilter: HostFilter = {
  name: 'DiskFilter',
  // With a tier, even a diskless request needs a host with a pool of that tier.
  appliesTo: (request) => request.storageTier !== undefined || asksFor('DISK_GB')(request),
  passes: (host, request) => {
    if (request.storageTier === undefined) return fitsDisk(host, request);
    const left = freeInPool(host, request.storageTier);
    return left !== null && left >= (request.resources['DISK_GB'] ?? 0);
  },
  keep: (candidates, count, columns, request) => {
    if (request.storageTier === undefined) return keepDisk(candidates, count, columns, request);
    const column = columns.poolColumn(request.storageTier);
    return column ? keepAtLeast(candidates, count, column, request.resources['DISK_GB'] ?? 0) : 0;
  },
};

/** Hosts a rescheduled build already failed on are never tried again. */
export const RetryFilter: HostFilter = {
  name: 'RetryFilter',
  runOncePerRequest: true,
  appliesTo: ({ spec }) => spec.ignore_hosts.length > 0,
  passes: (host, { spec }) => !spec.ignore_hosts.some(([h, n]) => h === host.host && n === host.nodename),
};
