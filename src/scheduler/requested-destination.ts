/**
 * A requested destination (compute API 2.74's `host` / `hypervisor_hostname` at create): only the hosts
 * it names are candidates. Nova narrows its placement query to that host's provider tree before any
 * filter runs, so this is applied before the filters and cannot be configured away, and, unlike a
 * forced host, the hosts it leaves still go through every enabled filter.
 */
import type { RequestedDestination } from '../wire/messages/request-spec.ts';
import type { HostColumns } from './host-columns.ts';

/** Keeps, in order, the indices among `candidates` of the hosts `destination` names; returns the kept part. */
export function keepRequestedDestination(
  candidates: Int32Array,
  columns: HostColumns,
  destination: RequestedDestination | undefined,
): Int32Array {
  if (!destination || (destination.host === null && destination.node === null)) return candidates;
  let kept = 0;
  for (let i = 0; i < candidates.length; i++) {
    const index = candidates[i]!;
    const host = columns.hosts[index]!;
    if (destination.host !== null && host.host !== destination.host) continue;
    if (destination.node !== null && host.nodename !== destination.node) continue;
    candidates[kept++] = index;
  }
  return candidates.subarray(0, kept);
}
