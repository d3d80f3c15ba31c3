/**
 * The compute manager's host duties against the real conductor and database, with a scripted driver
 * whose guests change state behind the manager's back: the power-state sync (periodic and on a
 * lifecycle event), the settling of interrupted tasks at start-up, and guests of deleted instances.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type RawOverrides } from '../../src/common/config/load-config.ts';
import { ConsoleTypeUnavailable, NotFound } from '../../src/common/errors.ts';
import type { InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { ComputeManager } from '../../src/compute/manager.ts';
import type {
  DiskSnapshotLink,
  GuestInfo,
  GuestLifecycleEvent,
  NodeResources,
  SnapshotData,
  VirtDriver,
  VncConsole,
} from '../../src/compute/virt/driver.ts';
import { listActions } from '../../src/objects/instance-actions.ts';
import { latestFaults } from '../../src/objects/instance-faults.ts';
import { PowerState, TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { getInstance, markInstanceDeleted, updateInstance, type InstanceChanges } from '../../src/objects/instances.ts';
import { startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

/** A driver whose guests the test sets, recording what the manager asks of it. */
class ScriptedDriver implements VirtDriver {
  readonly guests = new Map<string, number>();
  readonly calls: string[] = [];
  private listener: ((event: GuestLifecycleEvent) => void) | null = null;

  constructor(private readonly host: string) {}

  async init(): Promise<void> {}
  nodes(): NodeResources[] {
    return [
      {
        nodename: this.host,
        hypervisorType: 'scripted',
        hypervisorVersion: 1,
        cpuInfo: '{}',
        vcpus: 4,
        memoryMb: 8192,
        localGb: 100,
        storagePools: [{ tier: 'hdd', totalGb: 100 }],
        hostIp: null,
        supportedInstances: [],
      },
    ];
  }
  powerState(uuid: string): number {
    return this.guests.get(uuid) ?? PowerState.NOSTATE;
  }
  async spawn(instance: InstancePayload): Promise<void> {
    this.calls.push(`spawn ${instance.uuid}`);
    this.guests.set(instance.uuid, PowerState.RUNNING);
  }
  async destroy(uuid: string): Promise<void> {
    this.calls.push(`destroy ${uuid}`);
    this.guests.delete(uuid);
  }
  async powerOff(uuid: string): Promise<void> {
    this.calls.push(`powerOff ${uuid}`);
    this.require(uuid);
    this.guests.set(uuid, PowerState.SHUTDOWN);
  }
  async powerOn(uuid: string): Promise<void> {
    this.calls.push(`powerOn ${uuid}`);
    this.require(uuid);
    this.guests.set(uuid, PowerState.RUNNING);
  }
  async setAdminPassword(uuid: string): Promise<void> {
    this.calls.push(`setAdminPassword ${uuid}`);
  }
  async reboot(uuid: string): Promise<void> {
    this.calls.push(`reboot ${uuid}`);
    this.guests.set(uuid, PowerState.RUNNING);
  }
  async pause(uuid: string): Promise<void> {
    this.calls.push(`pause ${uuid}`);
    this.guests.set(uuid, PowerState.PAUSED);
  }
  async unpause(uuid: string): Promise<void> {
    this.calls.push(`unpause ${uuid}`);
    this.guests.set(uuid, PowerState.RUNNING);
  }
  async suspend(uuid: string): Promise<void> {
    this.calls.push(`suspend ${uuid}`);
    this.guests.set(uuid, PowerState.SUSPENDED);
  }
  async resume(uuid: string): Promise<void> {
    this.calls.push(`resume ${uuid}`);
    this.guests.set(uuid, PowerState.RUNNING);
  }
  async snapshot(uuid: string): Promise<SnapshotData> {
    this.calls.push(`snapshot ${uuid}`);
    throw new Error('the scripted driver takes no snapshots');
  }
  async diskSnapshots(): Promise<DiskSnapshotLink[]> {
    return [];
  }
  async createDiskSnapshot(uuid: string): Promise<void> {
    throw new Error(`scripted driver: no disk snapshots of ${uuid}`);
  }
  async deleteDiskSnapshot(uuid: string): Promise<void> {
    throw new Error(`scripted driver: no disk snapshots of ${uuid}`);
  }
  async revertDiskSnapshot(uuid: string): Promise<void> {
    throw new Error(`scripted driver: no disk snapshots of ${uuid}`);
  }
  async rebuild(instance: InstancePayload): Promise<void> {
    throw new Error(`scripted driver: no rebuild of ${instance.uuid}`);
  }
  async getConsoleOutput(): Promise<string> {
    return '';
  }

  async getVncConsole(): Promise<VncConsole> {
    throw new ConsoleTypeUnavailable('Unavailable console type vnc.');
  }
  async rescue(uuid: string): Promise<void> {
    throw new Error(`scripted driver: no rescue of ${uuid}`);
  }
  async unrescue(uuid: string): Promise<void> {
    throw new Error(`scripted driver: no rescue of ${uuid}`);
  }
  isRescued(): boolean {
    return false;
  }
  async triggerCrashDump(uuid: string): Promise<void> {
    throw new Error(`scripted driver: no NMI for ${uuid}`);
  }
  async getDiagnostics(uuid: string): Promise<never> {
    throw new Error(`scripted driver: no diagnostics of ${uuid}`);
  }
  async attachInterface(uuid: string): Promise<void> {
    throw new Error(`scripted driver: no interfaces for ${uuid}`);
  }
  async detachInterface(uuid: string): Promise<void> {
    throw new Error(`scripted driver: no interfaces for ${uuid}`);
  }
  async manageImageCache(): Promise<void> {}
  listGuests(): GuestInfo[] {
    return [...this.guests].map(([uuid, powerState]) => ({ uuid, nodename: this.host, powerState }));
  }
  onLifecycleEvent(listener: (event: GuestLifecycleEvent) => void): void {
    this.listener = listener;
  }
  /** The guest changes by itself and the driver says so. */
  emit(uuid: string, powerState: number, reason: string): void {
    this.guests.set(uuid, powerState);
    this.listener?.({ uuid, powerState, reason });
  }
  async shutdown(): Promise<void> {}
  private require(uuid: string): void {
    if (!this.guests.has(uuid)) throw new NotFound(`guest ${uuid} is not on this host`);
  }
}

let cloud: TestCloud;
before(async () => {
  cloud = await startTestCloud({ computeHosts: [] });
});
after(async () => {
  await cloud.stop();
});

function newHost(overrides: RawOverrides['DEFAULT'] = {}) {
  const host = `duties-${randomBytes(3).toString('hex')}`;
  const config = loadConfig([], { DEFAULT: { host, ...overrides } });
  const driver = new ScriptedDriver(host);
  const manager = new ComputeManager(host, config, driver, cloud.conductor);
  return { host, driver, manager };
}

async function instanceOn(host: string, states: InstanceChanges): Promise<string> {
  const uuid = await insertTestInstance(cloud.database.db, { host });
  await updateInstance(cloud.database.db, uuid, states);
  return uuid;
}

const ACTIVE_RUNNING = { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING, task_state: null };
const STOPPED = { vm_state: VmState.STOPPED, power_state: PowerState.SHUTDOWN, task_state: null };

async function states(uuid: string) {
  const i = await getInstance(cloud.database.db, uuid, true);
  return { vm_state: i.vm_state, task_state: i.task_state, power_state: i.power_state };
}

describe('power-state sync', () => {
  it('stops an instance whose guest shut down by itself, with a stop action and no fault', async () => {
    const { host, driver, manager } = newHost();
    const uuid = await instanceOn(host, ACTIVE_RUNNING);
    driver.guests.set(uuid, PowerState.SHUTDOWN);
    await manager.syncPowerStates();
    assert.deepEqual(await states(uuid), { vm_state: 'stopped', task_state: null, power_state: PowerState.SHUTDOWN });
    const [action] = await listActions(cloud.database.db, uuid);
    assert.equal(action?.action, 'stop');
    assert.deepEqual(
      action?.events.map((e) => [e.event, e.result, e.host]),
      [['compute_stop_instance', 'Success', host]],
    );
    assert.equal((await latestFaults(cloud.database.db, [uuid])).get(uuid), undefined);
    assert.deepEqual(driver.calls, [], 'a guest already off is not powered off again');
  });

  it('records a crashed guest: SHUTOFF with power_state crashed and a fault', async () => {
    const { host, driver, manager } = newHost();
    const uuid = await instanceOn(host, ACTIVE_RUNNING);
    driver.guests.set(uuid, PowerState.CRASHED);
    await manager.syncPowerStates();
    assert.deepEqual(await states(uuid), { vm_state: 'stopped', task_state: null, power_state: PowerState.CRASHED });
    assert.match((await latestFaults(cloud.database.db, [uuid])).get(uuid)?.message ?? '', /guest crashed/);
  });

  it('powers off a guest that runs though its instance is stopped', async () => {
    const { host, driver, manager } = newHost();
    const uuid = await instanceOn(host, STOPPED);
    driver.guests.set(uuid, PowerState.RUNNING);
    await manager.syncPowerStates();
    assert.deepEqual(driver.calls, [`powerOff ${uuid}`]);
    assert.deepEqual(await states(uuid), { vm_state: 'stopped', task_state: null, power_state: PowerState.SHUTDOWN });
  });

  it('leaves an instance with a task under way alone', async () => {
    const { host, driver, manager } = newHost();
    const uuid = await instanceOn(host, { ...ACTIVE_RUNNING, task_state: TaskState.REBOOTING });
    driver.guests.set(uuid, PowerState.SHUTDOWN);
    await manager.syncPowerStates();
    assert.deepEqual(await states(uuid), {
      vm_state: 'active',
      task_state: TaskState.REBOOTING,
      power_state: PowerState.RUNNING,
    });
  });

  it('syncs one instance at once on a lifecycle event, without waiting for the period', async () => {
    const { host, driver, manager } = newHost();
    await manager.initHost();
    const uuid = await instanceOn(host, ACTIVE_RUNNING);
    const other = await instanceOn(host, ACTIVE_RUNNING);
    driver.guests.set(uuid, PowerState.RUNNING);
    driver.guests.set(other, PowerState.SHUTDOWN);
    driver.emit(uuid, PowerState.SHUTDOWN, 'shutdown: guest-shutdown');
    await cloud.waitFor(uuid, (i) => i.vm_state === VmState.STOPPED);
    assert.deepEqual(await states(uuid), { vm_state: 'stopped', task_state: null, power_state: PowerState.SHUTDOWN });
    assert.equal((await states(other)).vm_state, 'active', 'only the instance of the event was synced');
  });
});

describe('start-up settling', () => {
  it('finishes or undoes every interrupted task, so nothing stays transitional', async () => {
    const { host, driver, manager } = newHost();
    const poweringOff = await instanceOn(host, { ...ACTIVE_RUNNING, task_state: TaskState.POWERING_OFF });
    const poweringOn = await instanceOn(host, { ...STOPPED, task_state: TaskState.POWERING_ON });
    const rebooting = await instanceOn(host, { ...ACTIVE_RUNNING, task_state: TaskState.REBOOTING_HARD });
    const spawning = await instanceOn(host, { vm_state: VmState.BUILDING, task_state: TaskState.SPAWNING });
    const deleting = await instanceOn(host, { ...ACTIVE_RUNNING, task_state: TaskState.DELETING });
    const pausing = await instanceOn(host, { ...ACTIVE_RUNNING, task_state: TaskState.PAUSING });
    const suspended = await instanceOn(host, { ...ACTIVE_RUNNING, task_state: TaskState.SUSPENDING });
    driver.guests.set(poweringOff, PowerState.RUNNING);
    driver.guests.set(poweringOn, PowerState.SHUTDOWN);
    driver.guests.set(rebooting, PowerState.SHUTDOWN);
    driver.guests.set(spawning, PowerState.RUNNING);
    driver.guests.set(deleting, PowerState.RUNNING);
    driver.guests.set(pausing, PowerState.RUNNING);
    driver.guests.set(suspended, PowerState.SUSPENDED);
    await manager.initHost();
    assert.deepEqual(await states(poweringOff), { ...STOPPED });
    assert.deepEqual(await states(poweringOn), { ...ACTIVE_RUNNING });
    assert.deepEqual(await states(rebooting), { ...ACTIVE_RUNNING });
    assert.deepEqual(await states(spawning), { vm_state: 'error', task_state: null, power_state: 0 });
    assert.match((await latestFaults(cloud.database.db, [spawning])).get(spawning)?.message ?? '', /restarted/);
    assert.equal((await states(deleting)).vm_state, 'deleted');
    assert.deepEqual(await states(pausing), { ...ACTIVE_RUNNING }, 'the pause never happened: cleared');
    assert.deepEqual(
      await states(suspended),
      { vm_state: 'suspended', task_state: null, power_state: PowerState.SUSPENDED },
      'the suspend was done: recorded',
    );
    assert.deepEqual(
      driver.calls.sort(),
      [
        `destroy ${deleting}`,
        `destroy ${spawning}`,
        `powerOff ${poweringOff}`,
        `powerOn ${poweringOn}`,
        `reboot ${rebooting}`,
      ].sort(),
    );
    assert.deepEqual([...driver.guests.keys()].sort(), [poweringOff, poweringOn, rebooting, pausing, suspended].sort());
  });

  it('an interrupted start whose guest is gone ends with the task cleared and a fault, not stuck', async () => {
    const { host, manager } = newHost();
    const uuid = await instanceOn(host, { ...STOPPED, task_state: TaskState.POWERING_ON });
    await manager.initHost();
    assert.deepEqual(await states(uuid), { vm_state: 'stopped', task_state: null, power_state: PowerState.NOSTATE });
    assert.match((await latestFaults(cloud.database.db, [uuid])).get(uuid)?.message ?? '', /is not on this host/);
  });

  it('with resume_guests_state_on_host_boot, starts again the guests that were running', async () => {
    const { host, driver, manager } = newHost({ resume_guests_state_on_host_boot: 'true' });
    const off = await instanceOn(host, ACTIVE_RUNNING);
    const missing = await instanceOn(host, ACTIVE_RUNNING);
    const stopped = await instanceOn(host, STOPPED);
    driver.guests.set(off, PowerState.SHUTDOWN);
    driver.guests.set(stopped, PowerState.SHUTDOWN);
    await manager.initHost();
    assert.deepEqual(await states(off), { ...ACTIVE_RUNNING });
    assert.deepEqual(await states(missing), { ...ACTIVE_RUNNING });
    assert.deepEqual(await states(stopped), { ...STOPPED });
    assert.deepEqual(driver.calls.sort(), [`powerOn ${off}`, `spawn ${missing}`].sort());
  });

  it('without it, an instance whose guest is off ends SHUTOFF', async () => {
    const { host, driver, manager } = newHost();
    const off = await instanceOn(host, ACTIVE_RUNNING);
    driver.guests.set(off, PowerState.SHUTDOWN);
    await manager.initHost();
    assert.deepEqual(await states(off), { ...STOPPED });
    assert.deepEqual(driver.calls, []);
  });
});

describe('running deleted instances', () => {
  async function orphans(action: string, timeout = '0') {
    const setup = newHost({ running_deleted_instance_action: action, running_deleted_instance_timeout: timeout });
    const { host, driver } = setup;
    const live = await instanceOn(host, ACTIVE_RUNNING);
    const deleted = await instanceOn(host, ACTIVE_RUNNING);
    await markInstanceDeleted(cloud.database.db, deleted);
    const unknown = '00000000-0000-4000-8000-' + randomBytes(6).toString('hex');
    const elsewhere = await instanceOn(`${host}-other`, ACTIVE_RUNNING);
    for (const uuid of [live, deleted, unknown, elsewhere]) driver.guests.set(uuid, PowerState.RUNNING);
    return { ...setup, live, deleted, unknown, elsewhere };
  }

  it('reap destroys the guests of deleted and unknown instances, never a live one, here or elsewhere', async () => {
    const { driver, manager, live, deleted, unknown, elsewhere } = await orphans('reap');
    await manager.cleanupRunningDeletedInstances();
    assert.deepEqual(driver.calls.sort(), [`destroy ${deleted}`, `destroy ${unknown}`].sort());
    assert.deepEqual([...driver.guests.keys()].sort(), [live, elsewhere].sort());
  });

  it('shutdown powers them off and keeps them', async () => {
    const { driver, manager, deleted, unknown } = await orphans('shutdown');
    await manager.cleanupRunningDeletedInstances();
    assert.deepEqual(driver.calls.sort(), [`powerOff ${deleted}`, `powerOff ${unknown}`].sort());
    assert.equal(driver.guests.size, 4);
  });

  it('log and noop touch nothing', async () => {
    for (const action of ['log', 'noop']) {
      const { driver, manager } = await orphans(action);
      await manager.cleanupRunningDeletedInstances();
      assert.deepEqual(driver.calls, []);
    }
  });

  it('waits for running_deleted_instance_timeout after the deletion', async () => {
    const { driver, manager, deleted, unknown } = await orphans('reap', '3600');
    const deletedAt = Date.parse((await getInstance(cloud.database.db, deleted, true)).deleted_at!);
    await manager.cleanupRunningDeletedInstances(deletedAt + 1000);
    assert.deepEqual(driver.calls, []);
    await manager.cleanupRunningDeletedInstances(deletedAt + 3_600_000);
    assert.deepEqual(driver.calls, [`destroy ${deleted}`], 'the unknown guest was first seen later');
    assert.ok(driver.guests.has(unknown));
  });
});
