/**
 * Placement by storage tier and by CPU policy: the scheduler (DiskFilter and the claim) puts a disk only
 * in a pool of the tier asked for, with enough space left there, and a flavor with dedicated CPUs only
 * on a host with PCPU left. Hosts are reported as compute hosts report them, each with its own config.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadConfig, type Config, type RawOverrides } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { NoValidHost } from '../../src/common/errors.ts';
import { nodeReports } from '../../src/compute/resource-report.ts';
import { fakeStoragePools } from '../../src/compute/storage-pools.ts';
import { recordHeartbeat, registerService } from '../../src/objects/services.ts';
import { poolsByNode, providerUsages, upsertComputeNode } from '../../src/placement/providers.ts';
import { Compile } from 'typebox/compile';
import { SchedulerManager } from '../../src/scheduler/manager.ts';
import { schedulerContract } from '../../src/wire/contracts/scheduler.ts';
import type { RequestSpec, Selection } from '../../src/wire/messages/request-spec.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testSpec } from '../helpers/request-spec.ts';

const opened: TestDatabase[] = [];
let serial = 0;
const uuids = (n: number) =>
  Array.from({ length: n }, () => `00000000-0000-4000-9000-${String(++serial).padStart(12, '0')}`);
const hostsOf = (selections: Selection[][]) => selections.map((s) => s[0]!.service_host);
const noValidHost = (err: unknown) => err instanceof NoValidHost && /No valid host was found/.test(err.message);

interface Cloud {
  database: TestDatabase;
  scheduler: SchedulerManager;
  /** A compute host with its own configuration ([fake_driver] storage_pools, CPU sets...). */
  addHost(host: string, compute: RawOverrides): Promise<void>;
  select(flavor: Partial<RequestSpec['flavor']>, count: number, extra?: Partial<RequestSpec>): Promise<Selection[][]>;
}

async function cloud(schedulerOverrides: RawOverrides = {}): Promise<Cloud> {
  const database = await openTestDatabase('sqlite');
  opened.push(database);
  const config: Config = loadConfig([], {
    filter_scheduler: { enabled_filters: 'ComputeFilter,RamFilter,CoreFilter,DiskFilter' },
    ...schedulerOverrides,
  });
  const scheduler = new SchedulerManager(database, config);
  return {
    database,
    scheduler,
    async addHost(host, compute) {
      const hostConfig = loadConfig([], compute);
      const service = await registerService(database.db, host, 'stratus-compute', 'compute');
      await recordHeartbeat(database.db, host, 'stratus-compute');
      const pools = fakeStoragePools(hostConfig);
      const [report] = nodeReports(
        hostConfig,
        [
          {
            nodename: host,
            hypervisorType: 'fake',
            hypervisorVersion: 1,
            cpuInfo: '{}',
            vcpus: hostConfig.fake_driver.vcpus,
            memoryMb: 65536,
            localGb: pools.reduce((sum, p) => sum + p.totalGb, 0),
            storagePools: pools,
            hostIp: null,
            supportedInstances: [['x86_64', 'fake', 'hvm']],
          },
        ],
        [],
      );
      await upsertComputeNode(database.db, host, service.id, report!);
    },
    select(flavor, count, extra = {}) {
      const spec = testSpec({ root_gb: 10, ...flavor }, { num_instances: count, ...extra });
      return scheduler.selectDestinations(adminContext(), spec, uuids(count));
    },
  };
}

/** DISK_GB used in each pool of each host, as "host/tier" -> GB. */
async function poolUsage(c: Cloud): Promise<Record<string, number>> {
  const nodes = await c.database.db.selectFrom('compute_nodes').select(['uuid', 'host']).execute();
  const pools = poolsByNode(await providerUsages(c.database.db));
  const result: Record<string, number> = {};
  for (const node of nodes) {
    for (const [tier, pool] of pools.get(node.uuid) ?? []) {
      result[`${node.host}/${tier}`] = pool.usage.usages['DISK_GB'] ?? 0;
    }
  }
  return result;
}

describe('storage tiers in the scheduler', () => {
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.close();
  });

  async function fleet(overrides: RawOverrides = {}): Promise<Cloud> {
    const c = await cloud(overrides);
    await c.addHost('big-hdd', { fake_driver: { storage_pools: 'hdd:5000' } });
    await c.addHost('ssd', { fake_driver: { storage_pools: 'hdd:100,ssd:50' } });
    await c.addHost('nvme', { fake_driver: { storage_pools: 'pcie_ssd:30' } });
    return c;
  }

  it('lands on a host with a pool of the asked tier, and takes the disk from that pool', async () => {
    const c = await fleet();
    assert.deepEqual(hostsOf(await c.select({}, 1, { storage_tier: 'ssd' })), ['ssd']);
    assert.deepEqual(hostsOf(await c.select({}, 1, { storage_tier: 'pcie_ssd' })), ['nvme']);
    assert.deepEqual(await poolUsage(c), {
      'big-hdd/hdd': 0,
      'ssd/hdd': 0,
      'ssd/ssd': 10,
      'nvme/pcie_ssd': 10,
    });
  });

  it('a spec without a tier does not reach it: the tier is required on the wire (migration 0018 mended old specs)', () => {
    const { storage_tier: _tier, ...untiered } = testSpec();
    const args = Compile(schedulerContract.methods.select_destinations.args);
    assert.equal(args.Check({ request_spec: untiered, instance_uuids: ['u'] }), false);
    assert.equal(args.Check({ request_spec: testSpec(), instance_uuids: ['u'] }), true);
  });

  it('only the tier counts: free space in another pool does not help, and a full tier is NoValidHost with nothing claimed', async () => {
    const c = await fleet();
    // 50 GB of ssd in the fleet: two disks of 20 GB fit, a third does not, though hdd has plenty.
    assert.deepEqual(hostsOf(await c.select({ root_gb: 20 }, 2, { storage_tier: 'ssd' })), ['ssd', 'ssd']);
    await assert.rejects(c.select({ root_gb: 20 }, 1, { storage_tier: 'ssd' }), noValidHost);
    // A request of several instances is all or nothing.
    await assert.rejects(c.select({ root_gb: 16 }, 2, { storage_tier: 'pcie_ssd' }), noValidHost);
    assert.deepEqual(await poolUsage(c), {
      'big-hdd/hdd': 0,
      'ssd/hdd': 0,
      'ssd/ssd': 40,
      'nvme/pcie_ssd': 0,
    });
  });

  it('a stale view of a pool is caught by the claim, which moves on to the next host of the tier', async () => {
    const c = await fleet({ scheduler: { host_state_refresh_interval: '3600' } });
    await c.addHost('ssd2', { fake_driver: { storage_pools: 'ssd:40' } });
    await c.select({}, 1, { storage_tier: 'hdd' }); // loads the view
    // Another scheduler fills the ssd pool of 'ssd' behind this one's back.
    const other = new SchedulerManager(c.database, loadConfig([], {}));
    await other.selectDestinations(
      adminContext(),
      testSpec({ memory_mb: 1, root_gb: 50 }, { storage_tier: 'ssd' }),
      uuids(1),
    );
    assert.deepEqual(hostsOf(await c.select({ root_gb: 30 }, 1, { storage_tier: 'ssd' })), ['ssd2']);
    const usage = await poolUsage(c);
    assert.equal(usage['ssd/ssd'], 50);
    assert.equal(usage['ssd2/ssd'], 30);
  });
});

describe('dedicated CPUs in the scheduler', () => {
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.close();
  });

  it('hw:cpu_policy=dedicated lands only where PCPU is left; shared flavors use VCPU', async () => {
    const c = await cloud();
    await c.addHost('shared-only', { fake_driver: { vcpus: '16' } });
    await c.addHost('pinned', {
      fake_driver: { vcpus: '8' },
      compute: { cpu_shared_set: '0-1', cpu_dedicated_set: '2-5' },
    });
    const dedicated = { vcpus: 2, extra_specs: { 'hw:cpu_policy': 'dedicated' } };
    assert.deepEqual(hostsOf(await c.select(dedicated, 2)), ['pinned', 'pinned']);
    // The four dedicated CPUs are taken; dedicated CPUs are never overcommitted.
    await assert.rejects(c.select(dedicated, 1), noValidHost);
    const allocations = await c.database.db
      .selectFrom('allocations')
      .select(['resource_class', 'used'])
      .where('resource_class', 'in', ['VCPU', 'PCPU'])
      .execute();
    assert.deepEqual(allocations, [
      { resource_class: 'PCPU', used: 2 },
      { resource_class: 'PCPU', used: 2 },
    ]);
  });
});
