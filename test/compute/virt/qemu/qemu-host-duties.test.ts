/**
 * Host duties with real qemu guests: the compute manager on the real conductor and database, the qemu
 * driver running the demo guest. A guest that powers itself off, one powered down over QMP behind the
 * compute's back, and one whose qemu is killed each end SHUTOFF (the last recorded as crashed); the
 * flavor's disk limits show in QMP query-block after boot and after a restart of the guest, its CPU
 * limits in its cgroup, its threads on the configured CPUs; nothing is left behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../../src/common/config/load-config.ts';
import type { InstancePayload } from '../../../../src/wire/messages/instance-payload.ts';
import { ComputeManager } from '../../../../src/compute/manager.ts';
import { QemuDriver } from '../../../../src/compute/virt/qemu/qemu-driver.ts';
import { QmpClient, type QmpBlockInfo } from '../../../../src/compute/virt/qemu/qmp-client.ts';
import { listActions } from '../../../../src/objects/instance-actions.ts';
import { latestFaults } from '../../../../src/objects/instance-faults.ts';
import { PowerState, VmState } from '../../../../src/wire/messages/instance-states.ts';
import { updateInstance } from '../../../../src/objects/instances.ts';
import { GUEST_MARKER, guestImage } from '../../../helpers/guest-image.ts';
import { startImageApiStub, type ImageApiStub } from '../../../helpers/image-api-stub.ts';
import { startTestCloud, type TestCloud } from '../../../helpers/in-process-cloud.ts';
import { instancePayload } from '../../../helpers/instance-payload.ts';
import { insertTestInstance } from '../../../helpers/instance-rows.ts';
import { processRuns, waitUntil } from '../../../helpers/processes.ts';
import { testQemuDriverOptions } from '../../../helpers/qemu-driver-options.ts';
import { NoopNetworkDriver } from '../../../../src/compute/network/noop-driver.ts';

const HOST = `qemu-duties-${randomBytes(3).toString('hex')}`;
const CPU_CGROUP = '/sys/fs/cgroup/cpu/stratus';
/** The demo guest's kernel, told to power the machine off from inside as soon as it has booted. */
const SELF_POWER_OFF = 'console=ttyS0 quiet panic=-1 rdinit=/bin/busybox -- poweroff -f';
const BOOT_MS = 120_000;

let stub: ImageApiStub;
let work: string;
let cloud: TestCloud;
let driver: QemuDriver;
let manager: ComputeManager;
const started: string[] = [];

before(async () => {
  const files = await guestImage();
  stub = await startImageApiStub();
  stub.add({ id: 'kernel', diskFormat: 'aki', file: files.kernel });
  stub.add({ id: 'ramdisk', diskFormat: 'ari', file: files.ramdisk });
  const root = { diskFormat: 'qcow2', file: files.root };
  const props = { kernel_id: 'kernel', ramdisk_id: 'ramdisk' };
  stub.add({ ...root, id: 'guest', properties: { ...props, os_command_line: files.commandLine } });
  stub.add({ ...root, id: 'guest-self-off', properties: { ...props, os_command_line: SELF_POWER_OFF } });
  work = await mkdtemp(join(tmpdir(), 'stratus-qemu-duties-'));
  cloud = await startTestCloud({ computeHosts: [] });
  driver = newDriver();
  manager = new ComputeManager(
    HOST,
    loadConfig([], { DEFAULT: { host: HOST } }),
    driver,
    new NoopNetworkDriver(),
    cloud.conductor,
  );
  await manager.initHost();
});

/** A driver on this test's instances_path (CPU 1 for ordinary guests, CPU 0 for dedicated ones). */
function newDriver(): QemuDriver {
  return new QemuDriver(
    testQemuDriverOptions(join(work, 'instances'), stub.tokens, { cpuSets: { shared: [1], dedicated: [0] } }),
  );
}

after(async () => {
  for (const guest of driver.listGuests()) await driver.destroy(guest.uuid).catch(() => undefined);
  await driver.shutdown();
  // Whatever a failed test left: qemu processes, then their cgroups.
  for (const uuid of started) {
    await readFile(join(guestDir(uuid), 'qemu.pid'), 'utf8').then(
      (pid) => process.kill(Number(pid), 'SIGKILL'),
      () => undefined,
    );
    await rmdir(join(CPU_CGROUP, `instance-${HOST}-${uuid}`)).catch(() => undefined);
  }
  await rmdir(CPU_CGROUP).catch(() => undefined);
  await cloud.stop();
  await stub.close();
  await rm(work, { recursive: true, force: true });
});

/** An instance of this host, recorded ACTIVE as after its build, and its guest started. */
async function runningGuest(image: string, flavor: Partial<InstancePayload['flavor']> = {}): Promise<string> {
  const db = cloud.database.db;
  const uuid = await insertTestInstance(db, { host: HOST });
  await updateInstance(db, uuid, { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING, task_state: null });
  const payload = instancePayload(
    uuid,
    {
      image_ref: image,
      vm_state: VmState.ACTIVE,
      task_state: null,
      power_state: PowerState.RUNNING,
      host: HOST,
      node: HOST,
      storage_tier: 'hdd',
    },
    { name: 'guest.tiny', memory_mb: 128, ...flavor },
  );
  started.push(uuid);
  await driver.spawn(payload, HOST);
  return uuid;
}

const guestDir = (uuid: string) => join(work, 'instances', uuid);
const pidOf = async (uuid: string) => Number(await readFile(join(guestDir(uuid), 'qemu.pid'), 'utf8'));

async function waitForMarker(uuid: string): Promise<void> {
  await waitUntil(
    `console marker of ${uuid}`,
    async () => (await driver.getConsoleOutput(uuid)).includes(GUEST_MARKER),
    BOOT_MS,
  );
}

/** QMP allows one client: the driver lets go of its connection (as when compute stops) for the test's own. */
async function withOwnQmp<T>(uuid: string, use: (qmp: QmpClient) => Promise<T>): Promise<T> {
  await driver.shutdown();
  const qmp = await QmpClient.connect(join(guestDir(uuid), 'qmp.sock'));
  try {
    return await use(qmp);
  } finally {
    qmp.close();
  }
}

async function rootDisk(uuid: string): Promise<QmpBlockInfo['inserted']> {
  const blocks = await withOwnQmp(uuid, (qmp) => qmp.execute('query-block', {}));
  return blocks.find((b) => b.inserted?.file === join(guestDir(uuid), 'disk'))?.inserted;
}

async function instanceStates(uuid: string) {
  const row = await cloud.waitFor(uuid, () => true);
  return { vm_state: row.vm_state, task_state: row.task_state, power_state: row.power_state };
}

describe('host duties with real qemu guests', () => {
  it('a guest that powers itself off from inside becomes SHUTOFF at once, through its lifecycle event', async () => {
    const uuid = await runningGuest('guest-self-off');
    // No periodic sync runs here: only the guest's SHUTDOWN event can bring this about.
    await cloud.waitFor(uuid, (i) => i.vm_state === VmState.STOPPED, BOOT_MS);
    assert.deepEqual(await instanceStates(uuid), {
      vm_state: 'stopped',
      task_state: null,
      power_state: PowerState.SHUTDOWN,
    });
    const [action] = await listActions(cloud.database.db, uuid);
    assert.equal(action?.action, 'stop');
    assert.equal((await latestFaults(cloud.database.db, [uuid])).get(uuid), undefined);
    await driver.destroy(uuid);
  });

  it('a guest powered down over QMP behind the compute’s back becomes SHUTOFF at the next sync', async () => {
    const uuid = await runningGuest('guest');
    await waitForMarker(uuid);
    const pid = await pidOf(uuid);
    await withOwnQmp(uuid, async (qmp) => {
      await qmp.execute('system_powerdown', {});
      await waitUntil('the guest powering off', async () => !processRuns(pid), BOOT_MS);
    });
    assert.equal((await instanceStates(uuid)).vm_state, 'active', 'the driver saw none of it');
    await manager.syncPowerStates();
    assert.deepEqual(await instanceStates(uuid), {
      vm_state: 'stopped',
      task_state: null,
      power_state: PowerState.SHUTDOWN,
    });
    await driver.destroy(uuid);
  });

  it('a guest whose qemu is killed is recorded as crashed at once, with a fault', async () => {
    const uuid = await runningGuest('guest');
    process.kill(await pidOf(uuid), 'SIGKILL');
    await cloud.waitFor(uuid, (i) => i.vm_state === VmState.STOPPED, 30_000);
    assert.deepEqual(await instanceStates(uuid), {
      vm_state: 'stopped',
      task_state: null,
      power_state: PowerState.CRASHED,
    });
    assert.match((await latestFaults(cloud.database.db, [uuid])).get(uuid)?.message ?? '', /crashed/);
    await driver.destroy(uuid);
  });

  it('applies the flavor QoS: disk throttle, CPU cgroup and pinning, again after a restart or a resume', async () => {
    const specs = {
      'quota:disk_read_iops_sec': '200',
      'quota:disk_write_bytes_sec': '1048576',
      'quota:disk_total_iops_sec': '0',
      'quota:cpu_quota': '20000',
      'quota:cpu_period': '100000',
      'quota:cpu_shares': '512',
    };
    const uuid = await runningGuest('guest', { extra_specs: specs });
    const cgroup = join(CPU_CGROUP, `instance-${HOST}-${uuid}`);
    const check = async () => {
      const pid = await pidOf(uuid);
      const disk = await rootDisk(uuid);
      assert.deepEqual(
        [disk?.iops_rd, disk?.bps_wr, disk?.iops, disk?.bps, disk?.iops_wr, disk?.bps_rd],
        [200, 1048576, 0, 0, 0, 0],
      );
      assert.equal((await readFile(join(cgroup, 'cpu.cfs_quota_us'), 'utf8')).trim(), '20000');
      assert.equal((await readFile(join(cgroup, 'cpu.cfs_period_us'), 'utf8')).trim(), '100000');
      assert.equal((await readFile(join(cgroup, 'cpu.shares'), 'utf8')).trim(), '512');
      assert.ok((await readFile(join(cgroup, 'cgroup.procs'), 'utf8')).split('\n').includes(String(pid)));
      assert.deepEqual(await cpusOfThreads(pid), ['1']);
      return pid;
    };
    const firstPid = await check();
    await driver.powerOff(uuid, 0);
    await driver.powerOn(uuid);
    const secondPid = await check();
    assert.notEqual(secondPid, firstPid, 'a new qemu, limited again');
    // Suspend ends qemu; resume starts a new one from the saved state, limited like the others.
    await driver.suspend(uuid);
    await driver.resume(uuid);
    assert.notEqual(await check(), secondPid);
    await driver.destroy(uuid);
    assert.equal(existsSync(cgroup), false);
    // Every guest has a cgroup under the parent, so the parent stays exactly while another guest lives.
    const others = existsSync(CPU_CGROUP) ? readdirSync(CPU_CGROUP).filter((n) => n.startsWith('instance-')) : [];
    assert.equal(existsSync(CPU_CGROUP), others.length > 0, 'the stratus parent goes with the last guest');
  });

  it('puts a guest without CPU limits in its cgroup too, so all guests share the stratus weight', async () => {
    const uuid = await runningGuest('guest');
    const cgroup = join(CPU_CGROUP, `instance-${HOST}-${uuid}`);
    const pid = await pidOf(uuid);
    assert.ok((await readFile(join(cgroup, 'cgroup.procs'), 'utf8')).split('\n').includes(String(pid)));
    assert.equal((await readFile(join(cgroup, 'cpu.cfs_quota_us'), 'utf8')).trim(), '-1', 'no quota');
    assert.equal((await readFile(join(cgroup, 'cpu.shares'), 'utf8')).trim(), '1024', 'the default weight');
    await driver.destroy(uuid);
    assert.equal(existsSync(cgroup), false);
  });

  it('puts each vCPU of a dedicated guest on its own dedicated CPU, never one CPU for two guests', async () => {
    const dedicated = { extra_specs: { 'hw:cpu_policy': 'dedicated' } };
    // The host has one dedicated CPU; two builds at once: one gets it, the other fails, saying why.
    const results = await Promise.allSettled([runningGuest('guest', dedicated), runningGuest('guest', dedicated)]);
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    assert.equal(won.length, 1);
    assert.match(lost[0] ?? '', /0 free dedicated CPUs \(cpu_dedicated_set 0\), the guest needs 1/);
    const uuid = won[0]!;
    const pid = await pidOf(uuid);
    const vcpuThreads = await withOwnQmp(uuid, (qmp) => qmp.execute('query-cpus-fast', {}));
    assert.equal(vcpuThreads.length, 1);
    const status = await readFile(`/proc/${pid}/task/${vcpuThreads[0]!['thread-id']}/status`, 'utf8');
    assert.equal(/Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1], '0');
    assert.deepEqual(await cpusOfThreads(pid), ['0']);
    // Another compute host on the same instances_path keeps to its own guests (it would reap this one).
    const neighbour = newDriver();
    await neighbour.init(`${HOST}-neighbour`);
    assert.deepEqual(neighbour.listGuests(), []);
    await neighbour.shutdown();
    await driver.destroy(uuid);
    assert.deepEqual(await readdir(join(work, 'instances')), ['_base']);
  });
});

/** The distinct CPU lists the threads of `pid` may run on. */
async function cpusOfThreads(pid: number): Promise<string[]> {
  const lists = new Set<string>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const status = await readFile(`/proc/${pid}/task/${tid}/status`, 'utf8').catch(() => '');
    const list = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
    if (list) lists.add(list);
  }
  return [...lists].sort();
}
