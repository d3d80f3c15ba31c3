/** AggregateInstanceExtraSpecsFilter and AggregateMultiTenancyIsolation against aggregate metadata. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AggregateInstanceExtraSpecsFilter,
  AggregateMultiTenancyIsolation,
} from '../../../src/scheduler/filters/aggregate-filters.ts';
import type { HostFilter } from '../../../src/scheduler/filters/filter.ts';
import type { RequestSpec } from '../../../src/wire/messages/request-spec.ts';
import { aggregate, filterRequest, hostState, requestSpec } from '../../helpers/scheduler-fixtures.ts';

const fast = aggregate('fast', { ssd: 'true', cpu_gen: '5', tier: 'gold,silver' });
const slow = aggregate('slow', { ssd: 'false', cpu_gen: '3' });
const hosts = [
  hostState('ssd-host', { aggregates: [fast] }),
  hostState('hdd-host', { aggregates: [slow] }),
  hostState('both', { aggregates: [fast, slow] }),
  hostState('loose'),
];
const passing = (filter: HostFilter, spec: RequestSpec) =>
  hosts.filter((h) => filter.passes(h, filterRequest(spec))).map((h) => h.host);
const withSpecs = (extraSpecs: Record<string, string>) =>
  passing(AggregateInstanceExtraSpecsFilter, requestSpec({ extraSpecs }));

describe('AggregateInstanceExtraSpecsFilter', () => {
  it('passes every host for a flavor without extra specs', () => {
    assert.deepEqual(withSpecs({}), ['ssd-host', 'hdd-host', 'both', 'loose']);
  });

  it('matches scoped and unscoped specs against the metadata of any of the host’s aggregates', () => {
    assert.deepEqual(withSpecs({ 'aggregate_instance_extra_specs:ssd': 'true' }), ['ssd-host', 'both']);
    assert.deepEqual(withSpecs({ ssd: 'false' }), ['hdd-host', 'both']);
    assert.deepEqual(withSpecs({ ssd: 'true', cpu_gen: '3' }), ['both']);
  });

  it('fails a host whose aggregates lack the key', () => {
    assert.deepEqual(withSpecs({ 'aggregate_instance_extra_specs:gpu': 'true' }), []);
  });

  it('ignores specs of other scopes', () => {
    assert.deepEqual(withSpecs({ 'hw:cpu_policy': 'dedicated', 'capabilities:hypervisor_type': 'x' }), [
      'ssd-host',
      'hdd-host',
      'both',
      'loose',
    ]);
  });

  it('takes the extra-spec operators, and comma-separated metadata as several values', () => {
    assert.deepEqual(withSpecs({ cpu_gen: '>= 4' }), ['ssd-host', 'both']);
    assert.deepEqual(withSpecs({ cpu_gen: '<or> 3 <or> 4' }), ['hdd-host', 'both']);
    assert.deepEqual(withSpecs({ tier: 's== silver' }), ['ssd-host', 'both']);
    assert.deepEqual(withSpecs({ tier: 'gold,silver' }), [], 'values are compared one by one');
  });
});

describe('AggregateMultiTenancyIsolation', () => {
  const isolated = [
    hostState('p1-only', { aggregates: [aggregate('p1', { filter_tenant_id: 'p1' })] }),
    hostState('p2-p3', { aggregates: [aggregate('p23', { filter_tenant_id: 'p2', filter_tenant_id_2: 'p3' })] }),
    hostState('listed', { aggregates: [aggregate('list', { filter_tenant_id: 'p4, p1' })] }),
    hostState('open', { aggregates: [aggregate('meta', { ssd: 'true' })] }),
    hostState('loose'),
  ];
  const passingFor = (project: string) =>
    isolated
      .filter((h) => AggregateMultiTenancyIsolation.passes(h, filterRequest(requestSpec({ project_id: project }))))
      .map((h) => h.host);

  it('keeps isolated hosts for their projects, and hosts without filter_tenant_id for everyone', () => {
    assert.deepEqual(passingFor('p1'), ['p1-only', 'listed', 'open', 'loose']);
    assert.deepEqual(passingFor('p3'), ['p2-p3', 'open', 'loose']);
    assert.deepEqual(passingFor('p9'), ['open', 'loose']);
  });
});
