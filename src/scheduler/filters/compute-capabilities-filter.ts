/**
 * ComputeCapabilitiesFilter (Nova's): flavor extra specs scoped `capabilities:` are requirements on the
 * host's attributes (host-attributes.ts), with the extra-spec operators: `capabilities:hypervisor_type`
 * = `s== fake`, `capabilities:cpu_info:arch` = `x86_64`, `capabilities:vcpus_total` = `>= 16`.
 * An unscoped spec whose key names a host attribute or stat is read the same way (Nova's backward
 * compatibility); other scopes are ignored. A host lacking the attribute fails.
 */
import { ATTRIBUTE_NAMES, hostAttribute, pythonStr } from '../host-attributes.ts';
import { matchesRequirement } from './extra-specs-ops.ts';
import type { HostFilter } from './filter.ts';
import { perSpec } from './spec-cache.ts';

const SCOPE = 'capabilities';

/** The flavor's specs this filter may read: [attribute path, requirement, whether scoped]. */
const wantedCapabilities = perSpec((spec) =>
  Object.entries(spec.flavor.extra_specs).flatMap(([key, requirement]): [string[], string, boolean][] => {
    const scope = key.split(':');
    if (scope.length === 1) return [[scope, requirement, false]];
    return scope[0] === SCOPE ? [[scope.slice(1), requirement, true]] : [];
  }),
);

export const ComputeCapabilitiesFilter: HostFilter = {
  name: 'ComputeCapabilitiesFilter',
  appliesTo: ({ spec }) => wantedCapabilities(spec).length > 0,
  // Not once per request: capabilities such as free_ram_mb change with each pick.
  passes(host, { spec }) {
    for (const [path, requirement, scoped] of wantedCapabilities(spec)) {
      // Unscoped: only a key the host knows is a capability.
      if (!scoped && !ATTRIBUTE_NAMES.includes(path[0]!) && !(path[0]! in host.stats)) continue;
      const value = hostAttribute(host, path);
      if (value === undefined || value === null) return false;
      if (!matchesRequirement(pythonStr(value, path[0]), requirement)) return false;
    }
    return true;
  },
};
