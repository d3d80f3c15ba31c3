/**
 * Filters skipped for a request (`appliesTo` false) must be ones that would pass every host: checked for
 * every filter over requests that use each hint, extra spec scope and image property, and hosts that
 * differ in everything a filter reads. A plain request leaves only the filters with something to check.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import type { FilterRequest } from '../../../src/scheduler/filters/filter.ts';
import { FILTER_FACTORIES } from '../../../src/scheduler/filters/registry.ts';
import { GroupPlacement, NO_HINTS, nodeKey } from '../../../src/scheduler/request-hints.ts';
import { aggregate, filterRequest, hostState, requestSpec } from '../../helpers/scheduler-fixtures.ts';

const config = loadConfig([], {});
const filters = Object.values(FILTER_FACTORIES).map((factory) => factory(config));

const hosts = [
  hostState('plain'),
  hostState('down', { serviceUp: false }),
  hostState('disabled', { serviceDisabled: true }),
  hostState('full', { usages: { VCPU: 64, MEMORY_MB: 15872 } }),
  hostState('no-pool', { storagePools: {} }),
  hostState('zoned', { availabilityZone: 'az1', aggregates: [aggregate('az', { availability_zone: 'az1' })] }),
  hostState('tenant', { aggregates: [aggregate('t', { filter_tenant_id: 'other', ssd: 'true' })] }),
  hostState('arm', { supportedInstances: [['aarch64', 'qemu', 'hvm']], failedBuilds: 2 }),
];

const group = (policy: 'affinity' | 'anti-affinity' | 'soft-affinity') =>
  new GroupPlacement('g', policy, 1, new Map([['plain', 1]]));

const requests: [string, FilterRequest][] = [
  ['plain', filterRequest()],
  [
    'no resources',
    filterRequest(requestSpec({ flavor: { ...requestSpec().flavor, vcpus: 0, memory_mb: 0, root_gb: 0 } })),
  ],
  ['a zone', filterRequest(requestSpec({ availability_zone: 'az1' }))],
  ['hosts to avoid', filterRequest(requestSpec({ ignore_hosts: [['plain', 'plain']] }))],
  ['a query', filterRequest(requestSpec({ scheduler_hints: { query: '[">=", "$free_ram_mb", 1024]' } }))],
  ['a bad query', filterRequest(requestSpec({ scheduler_hints: { query: '[' } }))],
  ['same host', filterRequest(requestSpec(), { ...NO_HINTS, sameHostNodes: new Set([nodeKey('plain', 'plain')]) })],
  ['different host', filterRequest(requestSpec(), { ...NO_HINTS, differentHostNodes: new Set(['x']) })],
  ['affinity', filterRequest(requestSpec(), { ...NO_HINTS, group: group('affinity') })],
  ['anti-affinity', filterRequest(requestSpec(), { ...NO_HINTS, group: group('anti-affinity') })],
  ['soft-affinity', filterRequest(requestSpec(), { ...NO_HINTS, group: group('soft-affinity') })],
  ['aggregate specs', filterRequest(requestSpec({ extraSpecs: { 'aggregate_instance_extra_specs:ssd': 'true' } }))],
  ['capabilities', filterRequest(requestSpec({ extraSpecs: { 'capabilities:hypervisor_type': 'qemu' } }))],
  ['other scopes only', filterRequest(requestSpec({ extraSpecs: { 'hw:cpu_policy': 'shared' } }))],
  ['an image architecture', filterRequest(requestSpec({ imageProperties: { hw_architecture: 'aarch64' } }))],
  ['a storage tier', { ...filterRequest(), storageTier: 'ssd' }],
];

describe('appliesTo', () => {
  for (const [label, request] of requests) {
    it(`skips only filters that pass every host, for a request with ${label}`, () => {
      for (const filter of filters) {
        if (!filter.appliesTo || filter.appliesTo(request)) continue;
        const failing = hosts.filter((h) => !filter.passes(h, request)).map((h) => h.host);
        assert.deepEqual(failing, [], `${filter.name} was skipped but fails hosts`);
      }
    });
  }

  it('leaves a plain request the service state, the resource fit and the filters that read hosts alone', () => {
    const [, plain] = requests[0]!;
    assert.deepEqual(
      filters.filter((f) => !f.appliesTo || f.appliesTo(plain)).map((f) => f.name),
      ['ComputeFilter', 'RamFilter', 'CoreFilter', 'DiskFilter', 'AggregateMultiTenancyIsolation'],
    );
  });

  it('keeps each filter for the request that gives it something to check', () => {
    const applying = (name: string) =>
      requests.filter(([, r]) => filters.find((f) => f.name === name)!.appliesTo?.(r) ?? true).map(([l]) => l);
    assert.deepEqual(applying('AvailabilityZoneFilter'), ['a zone']);
    assert.deepEqual(applying('RetryFilter'), ['hosts to avoid']);
    assert.deepEqual(applying('JsonFilter'), ['a query', 'a bad query']);
    assert.deepEqual(applying('ServerGroupAffinityFilter'), ['affinity']);
    assert.deepEqual(applying('ServerGroupAntiAffinityFilter'), ['anti-affinity']);
    assert.deepEqual(applying('ComputeCapabilitiesFilter'), ['capabilities']);
    assert.deepEqual(applying('AggregateInstanceExtraSpecsFilter'), ['aggregate specs']);
    assert.deepEqual(applying('ImagePropertiesFilter'), ['an image architecture']);
    assert.deepEqual(applying('DiskFilter').includes('a storage tier'), true);
  });
});
