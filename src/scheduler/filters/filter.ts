/** The filter contract: a filter answers whether one host can take one instance of the request. */
import type { HostState } from '../host-state.ts';
import type { RequestHints } from '../request-hints.ts';
import type { RequestSpec } from '../request-spec.ts';

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
}
