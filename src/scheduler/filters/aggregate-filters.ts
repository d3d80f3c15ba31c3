/**
 * Filters on the metadata of a host's aggregates, as Nova's. Metadata values are read as Nova reads
 * them: every aggregate of the host contributes, and a comma-separated value counts as several.
 *
 * AggregateInstanceExtraSpecsFilter: each flavor extra spec that is unscoped, or scoped
 * `aggregate_instance_extra_specs:`, must be met by a value of that key in the host's aggregates
 * (with the extra-spec operators, `<in>`, `<or>`, `>=`, ...); a host lacking the key fails. Specs of
 * other scopes (`hw:`, `capabilities:`, `quota:` ...) are not this filter's business.
 *
 * AggregateMultiTenancyIsolation: a host in an aggregate with `filter_tenant_id` (or any
 * `filter_tenant_id*` key, for more projects than one value holds) takes only those projects' servers.
 */
import { aggregateMetadata } from '../host-state.ts';
import { matchesRequirement } from './extra-specs-ops.ts';
import type { HostFilter } from './filter.ts';
import { perSpec } from './spec-cache.ts';

const SCOPE = 'aggregate_instance_extra_specs';

/** The flavor's specs this filter reads, as [metadata key, requirement]. */
const wantedMetadata = perSpec((spec) =>
  Object.entries(spec.flavor.extra_specs).flatMap(([scopedKey, requirement]): [string, string][] => {
    const colon = scopedKey.indexOf(':');
    if (colon < 0) return [[scopedKey, requirement]];
    return scopedKey.slice(0, colon) === SCOPE ? [[scopedKey.slice(colon + 1), requirement]] : [];
  }),
);

export const AggregateInstanceExtraSpecsFilter: HostFilter = {
  name: 'AggregateInstanceExtraSpecsFilter',
  runOncePerRequest: true,
  appliesTo: ({ spec }) => wantedMetadata(spec).length > 0,
  passes(host, { spec }) {
    const wanted = wantedMetadata(spec);
    if (!wanted.length) return true;
    const metadata = aggregateMetadata(host);
    return wanted.every(([key, requirement]) => {
      const values = metadata.get(key);
      if (!values) return false;
      for (const value of values) if (matchesRequirement(value, requirement)) return true;
      return false;
    });
  },
};

/** The projects a host's aggregates admit, or null when they restrict none; kept per view of the hosts. */
const tenantsCache = new WeakMap<ReadonlyMap<string, ReadonlySet<string>>, ReadonlySet<string> | null>();

function allowedTenants(metadata: ReadonlyMap<string, ReadonlySet<string>>): ReadonlySet<string> | null {
  let allowed = tenantsCache.get(metadata);
  if (allowed === undefined) {
    const tenants = new Set<string>();
    for (const [key, values] of metadata) {
      if (key.startsWith('filter_tenant_id')) for (const value of values) tenants.add(value);
    }
    allowed = tenants.size ? tenants : null;
    tenantsCache.set(metadata, allowed);
  }
  return allowed;
}

const admitsProject: HostFilter['passes'] = (host, { spec }) => {
  if (!host.aggregates.length) return true;
  const allowed = allowedTenants(aggregateMetadata(host));
  return allowed === null || allowed.has(spec.project_id);
};

export const AggregateMultiTenancyIsolation: HostFilter = {
  name: 'AggregateMultiTenancyIsolation',
  runOncePerRequest: true,
  passes: admitsProject,
  // A host in no aggregate passes without its object being read: most hosts, in most fleets.
  keep(candidates, count, { hosts, inAggregate }, request) {
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const index = candidates[i]!;
      if (inAggregate[index] === 0 || admitsProject(hosts[index]!, request)) candidates[kept++] = index;
    }
    return kept;
  },
};
