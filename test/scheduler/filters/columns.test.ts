/**
 * The filters and weighers that read the view's typed arrays (`keep`, `column`) answer exactly as their
 * per-host `passes` and `weigh` do, for hosts that differ in everything they read, over all the hosts
 * and over a subset of them (the candidates are indices into the view, not positions).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { keepPassing, type FilterRequest } from '../../../src/scheduler/filters/filter.ts';
import { FILTER_FACTORIES } from '../../../src/scheduler/filters/registry.ts';
import { allIndices, HostColumns } from '../../../src/scheduler/host-columns.ts';
import { loadWeighers, weighHosts, WEIGHER_NAMES } from '../../../src/scheduler/weighers/weigher.ts';
import {
  aggregate,
  assertColumnsInStep,
  filterRequest,
  hostState,
  inventory,
  requestSpec,
} from '../../helpers/scheduler-fixtures.ts';

const config = loadConfig([], {});
const filters = Object.values(FILTER_FACTORIES).map((factory) => factory(config));

const pool = (name: string, total: number, used = 0) => ({ uuid: `pool-${name}`, inventory: inventory(total), used });

const hosts = [
  hostState('plain'),
  hostState('down', { serviceUp: false }),
  hostState('disabled', { serviceDisabled: true }),
  hostState('full', { usages: { VCPU: 64, MEMORY_MB: 15872 } }),
  hostState('almost-full', { usages: { VCPU: 63, MEMORY_MB: 15360 } }),
  hostState('overcommitted', { usages: { VCPU: 70, MEMORY_MB: 20000 } }),
  hostState('no-pool', { storagePools: {} }),
  hostState('ssd', { storagePools: { hdd: pool('ssd-hdd', 200, 199), ssd: pool('ssd-ssd', 100) } }),
  hostState('ssd-full', { storagePools: { ssd: pool('ssd-full', 100, 120) } }),
  hostState('node-disk', {
    inventories: { VCPU: inventory(16, 0, 4), MEMORY_MB: inventory(16384, 512), DISK_GB: inventory(50, 10) },
    usages: { DISK_GB: 5 },
    storagePools: {},
  }),
  hostState('dedicated', {
    inventories: { PCPU: inventory(8), MEMORY_MB: inventory(16384, 512) },
    usages: { PCPU: 6 },
  }),
  hostState('tenant', { aggregates: [aggregate('t', { filter_tenant_id: 'other', ssd: 'true' })] }),
  hostState('my-tenant', { aggregates: [aggregate('m', { filter_tenant_id: 'p1,p2' })] }),
  hostState('zoned', { availabilityZone: 'az1', aggregates: [aggregate('az', { availability_zone: 'az1' })] }),
  hostState('failing', { failedBuilds: 2, usages: { MEMORY_MB: 1024 } }),
];

const flavor = (vcpus: number, memory_mb: number, root_gb: number, extra_specs: Record<string, string> = {}) =>
  requestSpec({ flavor: { ...requestSpec().flavor, vcpus, memory_mb, root_gb, extra_specs } });

const requests: [string, FilterRequest][] = [
  ['plain', filterRequest()],
  ['nothing asked', filterRequest(flavor(0, 0, 0))],
  ['one more VCPU than the almost full host has', filterRequest(flavor(2, 256, 1))],
  ['exactly what the almost full host has', filterRequest(flavor(1, 512, 1))],
  ['much memory', filterRequest(flavor(1, 15000, 1))],
  ['much disk, any pool', filterRequest(flavor(1, 512, 150))],
  ['a tier', { ...filterRequest(flavor(1, 512, 50)), storageTier: 'ssd' }],
  ['a tier, no disk', { ...filterRequest(flavor(1, 512, 0)), storageTier: 'ssd' }],
  ['a tier no host has', { ...filterRequest(), storageTier: 'nvme' }],
  ['the default tier', { ...filterRequest(flavor(1, 512, 2)), storageTier: 'hdd' }],
  ['dedicated CPUs', filterRequest(flavor(2, 512, 1, { 'hw:cpu_policy': 'dedicated' }))],
  ['too many dedicated CPUs', filterRequest(flavor(3, 512, 1, { 'hw:cpu_policy': 'dedicated' }))],
  ['another project', filterRequest(requestSpec({ project_id: 'other' }))],
  ['a project of a list', filterRequest(requestSpec({ project_id: 'p2' }))],
];

/** Every other host, from the second: candidates that are not positions 0..n-1. */
const subset = Int32Array.from(hosts.keys()).filter((i) => i % 2 === 1);

describe('columns', () => {
  const columns = new HostColumns(hosts);

  it('hold what free(), freeInPool() and the service state give, NaN where a host lacks the tier', () => {
    const at = (name: string) => hosts.findIndex((h) => h.host === name);
    assert.equal(columns.freeVcpu[at('almost-full')], 1);
    assert.equal(columns.freeRam[at('almost-full')], 512);
    assert.equal(columns.freeDisk[at('node-disk')], 35);
    assert.equal(columns.freeDisk[at('ssd')], 101);
    assert.equal(columns.freePcpu[at('dedicated')], 2);
    assert.deepEqual(
      [
        columns.poolColumn('ssd')![at('ssd')],
        columns.poolColumn('ssd')![at('ssd-full')],
        columns.poolColumn('ssd')![0],
      ],
      [100, -20, NaN],
    );
    assert.equal(columns.poolColumn('nvme'), undefined);
    assert.deepEqual([...columns.usable.slice(0, 4)], [1, 0, 0, 1]);
    assert.equal(columns.failedBuilds[at('failing')], 2);
  });

  it('follow a placement counted in the view, and its undoing', () => {
    const own = new HostColumns(hosts.map((h) => structuredClone(h)));
    const before = own.freeRam[0];
    own.consume(0, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 10 }, 1, 'hdd');
    assertColumnsInStep(own, 'placed');
    assert.equal(own.freeRam[0], before! - 512);
    own.consume(0, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 10 }, -1, 'hdd');
    assertColumnsInStep(own, 'undone');
    assert.equal(own.freeRam[0], before);
  });

  for (const [label, request] of requests) {
    it(`give each filter's keep the answers of its passes, for a request with ${label}`, () => {
      for (const filter of filters.filter((f) => f.keep)) {
        for (const candidates of [allIndices(hosts.length), subset]) {
          const expected = [...candidates].filter((i) => filter.passes(hosts[i]!, request));
          const kept = candidates.slice();
          const count = keepPassing(filter, kept, kept.length, columns, request);
          assert.deepEqual([...kept.subarray(0, count)], expected, `${filter.name} over ${candidates.length} hosts`);
        }
      }
    });
  }

  it('has keep for the filters of a plain request, which run over every host', () => {
    assert.deepEqual(
      filters.filter((f) => f.keep).map((f) => f.name),
      ['ComputeFilter', 'RamFilter', 'CoreFilter', 'DiskFilter', 'AggregateMultiTenancyIsolation'],
    );
  });

  it('give the weighers that read them the weights their weigh gives, over all hosts and a subset', () => {
    const weighers = loadWeighers(WEIGHER_NAMES);
    const byHost = weighers.map((w) => ({ ...w, column: undefined }));
    assert.ok(weighers.some((w) => w.column));
    for (const candidates of [allIndices(hosts.length), subset]) {
      assert.deepEqual(
        weighHosts(columns, candidates, weighers, config, filterRequest()),
        weighHosts(columns, candidates, byHost, config, filterRequest()),
      );
    }
  });

  it('weigh a subset as those hosts alone, per-aggregate multipliers included', () => {
    const stack = aggregate('stack', { ram_weight_multiplier: '-2', disk_weight_multiplier: '0' });
    const mixed = [...hosts, hostState('stacked', { usages: { MEMORY_MB: 2048 }, aggregates: [stack] })];
    const weighers = loadWeighers(WEIGHER_NAMES);
    const picked = Int32Array.from([1, 4, 7, 10, mixed.length - 1]);
    const alone = [...picked].map((i) => mixed[i]!);
    assert.deepEqual(
      weighHosts(new HostColumns(mixed), picked, weighers, config, filterRequest()),
      weighHosts(new HostColumns(alone), allIndices(alone.length), weighers, config, filterRequest()),
    );
  });
});
