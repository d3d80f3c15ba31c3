/** The filter contract: a filter answers whether one host can take one instance of the request. */
import type { HostColumns } from '../host-columns.ts';
import type { HostState } from '../host-state.ts';
import type { RequestHints } from '../request-hints.ts';
import type { RequestSpec } from '../../wire/messages/request-spec.ts';

export interface FilterRequest {
  readonly spec: RequestSpec;
  /** Resources one instance needs, by resource class. */
  readonly resources: Readonly<Record<string, number>>;
  /** The storage tier whose pool must hold the disk (DISK_GB); absent: any DISK_GB of the host. */
  readonly storageTier?: string;
  /** What the scheduler hints refer to (group members, hinted instances), read once per request. */
  readonly hints: RequestHints;
}

export interface HostFilter {
  readonly name: string;
  /** Runs once per request, not per instance, when the answer cannot change within a request. */
  readonly runOncePerRequest?: boolean;
  /**
   * False when the filter has nothing to check for this request (no hint, extra spec or image property
   * it reads): `passes` would then be true for every host, so the scheduler skips the filter for the
   * whole request instead of asking it about every host. Decided from the request alone, once per request.
   */
  appliesTo?(request: FilterRequest): boolean;
  passes(host: HostState, request: FilterRequest): boolean;
  /**
   * `passes` for many hosts at once, from the view's columns instead of the host objects (for the filters
   * that run over every host of every request): keeps, in order, the indices in `candidates[0..count)` of
   * the hosts `passes` would accept, and returns how many. It must answer exactly as `passes` does
   * (test/scheduler/filters/columns.test.ts compares them).
   */
  keep?(candidates: Int32Array, count: number, columns: HostColumns, request: FilterRequest): number;
}

/** `filter.passes` over `candidates[0..count)`, kept in place and in order; returns how many pass. */
export function keepPassing(
  filter: HostFilter,
  candidates: Int32Array,
  count: number,
  columns: HostColumns,
  request: FilterRequest,
): number {
  if (filter.keep) return filter.keep(candidates, count, columns, request);
  const hosts = columns.hosts;
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const index = candidates[i]!;
    if (filter.passes(hosts[index]!, request)) candidates[kept++] = index;
  }
  return kept;
}

/** Keeps the candidates whose entry in `column` is at least `wanted` (NaN never is). */
export function keepAtLeast(candidates: Int32Array, count: number, column: Float64Array, wanted: number): number {
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const index = candidates[i]!;
    if (column[index]! >= wanted) candidates[kept++] = index;
  }
  return kept;
}
