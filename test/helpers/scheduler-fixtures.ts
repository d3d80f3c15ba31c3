/**
 * Host states, request specs and filter requests for unit tests of filters and weighers, and compute
 * hosts reported into a database for tests of the whole scheduler.
 */
import assert from 'node:assert/strict';
import type { Config } from '../../src/common/config/load-config.ts';
import type { Db } from '../../src/common/db/database.ts';
import { nodeReports } from '../../src/compute/resource-report.ts';
import type { StoragePoolResources } from '../../src/compute/storage-pools.ts';
import type { HostAggregate } from '../../src/objects/aggregates.ts';
import { recordHeartbeat, registerService } from '../../src/objects/services.ts';
import { resourcesForFlavor } from '../../src/placement/claims.ts';
import { upsertComputeNode } from '../../src/placement/providers.ts';
import type { FilterRequest } from '../../src/scheduler/filters/filter.ts';
import { HostColumns } from '../../src/scheduler/host-columns.ts';
import type { HostState } from '../../src/scheduler/host-state.ts';
import { NO_HINTS, type RequestHints } from '../../src/scheduler/request-hints.ts';
import type { RequestSpec } from '../../src/wire/messages/request-spec.ts';
import { testSpec } from './request-spec.ts';

/** An inventory of `total` with every unit allowed. */
export const inventory = (total: number, reserved = 0, ratio = 1) => ({
  total,
  reserved,
  min_unit: 1,
  max_unit: total,
  step_size: 1,
  allocation_ratio: ratio,
});

/** A 16-VCPU, 16 GiB node with a 200 GB hdd pool, named like its host, up and enabled, in zone `nova`, in no aggregate. */
export function hostState(host: string, overrides: Partial<HostState> = {}): HostState {
  return {
    host,
    nodename: host,
    uuid: `uuid-${host}`,
    availabilityZone: 'nova',
    serviceUp: true,
    serviceDisabled: false,
    hypervisorType: 'fake',
    hypervisorVersion: 1000,
    hostIp: '192.0.2.1',
    cpuInfo: JSON.stringify({ arch: 'x86_64', model: 'fake', topology: { sockets: 1, cores: 16 } }),
    supportedInstances: [['x86_64', 'fake', 'hvm']],
    stats: { failed_builds: '0' },
    failedBuilds: 0,
    aggregates: [],
    inventories: { VCPU: inventory(16, 0, 4), MEMORY_MB: inventory(16384, 512) },
    usages: {},
    storagePools: { hdd: { uuid: `uuid-${host}-hdd`, inventory: inventory(200), used: 0 } },
    ...overrides,
  };
}

let aggregateId = 0;

export function aggregate(name: string, metadata: Record<string, string>): HostAggregate {
  const id = ++aggregateId;
  return { id, uuid: `agg-${id}`, name, metadata };
}

export function requestSpec(
  overrides: Partial<RequestSpec> & {
    extraSpecs?: Record<string, string>;
    imageProperties?: Record<string, string>;
  } = {},
): RequestSpec {
  const { extraSpecs, imageProperties, ...rest } = overrides;
  return testSpec(
    { extra_specs: extraSpecs ?? {} },
    { image: { id: 'img', properties: imageProperties ?? {} }, ...rest },
  );
}

export function filterRequest(spec: RequestSpec = requestSpec(), hints: RequestHints = NO_HINTS): FilterRequest {
  return { spec, resources: resourcesForFlavor(spec.flavor), hints };
}

export interface HostSize {
  vcpus?: number;
  memoryMb?: number;
  localGb?: number;
  supportedInstances?: [string, string, string][];
  failedBuilds?: number;
  /** Default: one `hdd` pool of localGb. */
  pools?: StoragePoolResources[];
}

/**
 * Registers a compute service for `host`, heartbeats it and reports one node named like the host, as a
 * compute host does through the conductor, with the inventories its configuration gives.
 */
export async function addComputeHost(db: Db, config: Config, host: string, size: HostSize = {}): Promise<void> {
  const service = await registerService(db, host, 'stratus-compute', 'compute');
  await recordHeartbeat(db, host, 'stratus-compute');
  const [report] = nodeReports(
    config,
    [
      {
        nodename: host,
        hypervisorType: 'fake',
        hypervisorVersion: 1,
        cpuInfo: '{}',
        vcpus: size.vcpus ?? 16,
        memoryMb: size.memoryMb ?? 16384,
        localGb: size.localGb ?? 200,
        storagePools: size.pools ?? [{ tier: 'hdd', totalGb: size.localGb ?? 200 }],
        hostIp: null,
        supportedInstances: size.supportedInstances ?? [['x86_64', 'fake', 'hvm']],
      },
    ],
    [],
    new Map([[host, size.failedBuilds ?? 0]]),
  );
  await upsertComputeNode(db, host, service.id, report!);
}

/**
 * The view's columns hold what its hosts hold now: equal to columns built afresh from the same hosts
 * (NaN for a missing pool compares equal to NaN).
 */
export function assertColumnsInStep(columns: HostColumns, message?: string): void {
  assert.deepEqual(columns, new HostColumns(columns.hosts), message);
}
