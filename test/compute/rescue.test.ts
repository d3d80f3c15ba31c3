/**
 * The compute side of rescue, unrescue, trigger_crash_dump and diagnostics on the fake driver: the
 * states each records (Nova's), the driver's view afterwards, failures ending in ERROR with a fault (or,
 * for a crash dump, a fault and no change), and a compute restart settling an interrupted rescue or
 * unrescue.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { InstanceInvalidState } from '../../src/common/errors.ts';
import { getDiagnostics, rescueInstance, triggerCrashDump, unrescueInstance } from '../../src/compute/rescue.ts';
import type { InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { PowerState, TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { managerOnFakeDriver, type RecordedReports } from '../helpers/recording-conductor.ts';
import { instancePayload } from '../helpers/instance-payload.ts';

function payload(uuid: string, vmState: string, task: string | null): InstancePayload {
  return instancePayload(
    uuid,
    {
      vm_state: vmState,
      task_state: task,
      power_state: PowerState.RUNNING,
      launched_at: '2026-01-01T00:00:00Z',
      image_ref: 'own-image',
      host: 'h',
      node: 'h',
    },
    { vcpus: 2, memory_mb: 256 },
  );
}

const setUp = (onHost: InstancePayload[] = []) => managerOnFakeDriver({ onHost });

const last = (recorded: RecordedReports) => recorded.updates.at(-1)!;

describe('compute: rescue_instance', () => {
  it("boots the instance's own image when none is given, and records RESCUED", async () => {
    const { driver, manager, recorded } = await setUp();
    const instance = payload('vm-1', VmState.ACTIVE, TaskState.RESCUING);
    await driver.spawn(instance, 'h');
    await rescueInstance(manager, adminContext(), instance, null);
    assert.equal(driver.rescueImageOf('vm-1'), 'own-image');
    const { changes, expected } = last(recorded);
    assert.deepEqual(expected, [TaskState.RESCUING]);
    assert.equal(changes.vm_state, VmState.RESCUED);
    assert.equal(changes.task_state, null);
    assert.equal(changes.power_state, PowerState.RUNNING);
    assert.ok(changes.launched_at);
    assert.deepEqual(recorded.events, [
      { event: 'compute_rescue_instance', phase: 'start', error: false },
      { event: 'compute_rescue_instance', phase: 'finish', error: false },
    ]);
    const diagnostics = await getDiagnostics(manager, instance);
    assert.equal(diagnostics.disk_details.length, 2, 'the rescue disk and its own');
  });

  it('boots the rescue image asked for, from a stopped guest too', async () => {
    const { driver, manager } = await setUp();
    const instance = payload('vm-2', VmState.STOPPED, TaskState.RESCUING);
    await driver.spawn(instance, 'h');
    await driver.powerOff('vm-2');
    await rescueInstance(manager, adminContext(), instance, 'rescue-image');
    assert.equal(driver.rescueImageOf('vm-2'), 'rescue-image');
    assert.equal(driver.powerState('vm-2'), PowerState.RUNNING);
  });

  it('puts the instance in ERROR with a fault when the driver fails', async () => {
    const { manager, recorded } = await setUp();
    // No guest on this host: the driver cannot rescue it.
    await rescueInstance(manager, adminContext(), payload('vm-3', VmState.ACTIVE, TaskState.RESCUING), null);
    const { changes, expected } = last(recorded);
    assert.deepEqual(expected, [TaskState.RESCUING]);
    assert.equal(changes.vm_state, VmState.ERROR);
    assert.equal(changes.task_state, null);
    assert.equal(recorded.faults.length, 1);
    assert.match(recorded.faults[0]!, /Instance vm-3 cannot be rescued: Driver Error: guest vm-3 is not on this host/);
    assert.deepEqual(recorded.events.at(-1), { event: 'compute_rescue_instance', phase: 'finish', error: true });
  });
});

describe('compute: unrescue_instance', () => {
  it('boots the guest from its own disk again and records ACTIVE', async () => {
    const { driver, manager, recorded } = await setUp();
    const instance = payload('vm-4', VmState.RESCUED, TaskState.UNRESCUING);
    await driver.spawn(instance, 'h');
    await driver.rescue('vm-4', 'rescue-image');
    await unrescueInstance(manager, adminContext(), instance);
    assert.equal(driver.isRescued('vm-4'), false);
    assert.equal(driver.powerState('vm-4'), PowerState.RUNNING);
    const { changes, expected } = last(recorded);
    assert.deepEqual(expected, [TaskState.UNRESCUING]);
    assert.deepEqual(changes, { vm_state: VmState.ACTIVE, task_state: null, power_state: PowerState.RUNNING });
  });

  it('puts the instance in ERROR with a fault when the driver fails', async () => {
    const { manager, recorded } = await setUp();
    await unrescueInstance(manager, adminContext(), payload('vm-5', VmState.RESCUED, TaskState.UNRESCUING));
    assert.equal(last(recorded).changes.vm_state, VmState.ERROR);
    assert.equal(last(recorded).changes.task_state, null);
    assert.equal(recorded.faults.length, 1);
  });
});

describe('compute: trigger_crash_dump', () => {
  it('sends the guest an NMI and records the event, changing no state', async () => {
    const { driver, manager, recorded } = await setUp();
    const instance = payload('vm-6', VmState.ACTIVE, null);
    await driver.spawn(instance, 'h');
    await triggerCrashDump(manager, adminContext(), instance);
    assert.equal(driver.nmisOf('vm-6'), 1);
    assert.deepEqual(recorded.updates, []);
    assert.deepEqual(recorded.events.at(-1), { event: 'compute_trigger_crash_dump', phase: 'finish', error: false });
  });

  it('records a fault and a failed event when the guest does not run', async () => {
    const { driver, manager, recorded } = await setUp();
    const instance = payload('vm-7', VmState.ERROR, null);
    await driver.spawn(instance, 'h');
    await driver.powerOff('vm-7');
    await triggerCrashDump(manager, adminContext(), instance);
    assert.equal(driver.nmisOf('vm-7'), 0);
    assert.deepEqual(recorded.updates, []);
    assert.deepEqual(recorded.faults, ['Instance vm-7 is not running.']);
    assert.deepEqual(recorded.events.at(-1), { event: 'compute_trigger_crash_dump', phase: 'finish', error: true });
  });
});

describe('compute: get_diagnostics', () => {
  it("derives the figures from the guest's flavor, and refuses a guest that does not run", async () => {
    const { driver, manager } = await setUp();
    const instance = payload('vm-8', VmState.ACTIVE, null);
    await driver.spawn(instance, 'h');
    const figures = await getDiagnostics(manager, instance);
    assert.equal(figures.state, 'running');
    assert.equal(figures.cpu_details.length, 2);
    assert.deepEqual(figures.memory_details, { maximum: 256, used: 256 });
    assert.deepEqual(
      figures.disk_details.map((d) => d.device),
      ['vda'],
    );
    await driver.powerOff('vm-8');
    const stopped = { ...instance, power_state: PowerState.SHUTDOWN };
    await assert.rejects(
      getDiagnostics(manager, stopped),
      (err: Error) =>
        err instanceof InstanceInvalidState &&
        err.message ===
          'Instance vm-8 in power state shutdown. Cannot get_diagnostics while the instance is in this state.',
    );
  });
});

describe('compute restart during a rescue or unrescue', () => {
  it('completes a rescue the guest shows begun, withdraws one it does not, completes an unrescue', async () => {
    const begun = payload('vm-a', VmState.ACTIVE, TaskState.RESCUING);
    const notBegun = payload('vm-b', VmState.ACTIVE, TaskState.RESCUING);
    const leaving = payload('vm-c', VmState.RESCUED, TaskState.UNRESCUING);
    const { driver, manager, recorded } = await setUp([begun, notBegun, leaving]);
    for (const instance of [begun, notBegun, leaving]) await driver.spawn(instance, 'h');
    await driver.rescue('vm-a', 'rescue-image');
    await driver.powerOff('vm-a');
    await driver.rescue('vm-c', 'rescue-image');
    await manager.initHost();

    assert.equal(driver.rescueImageOf('vm-a'), 'rescue-image', 'the image the rescue began with');
    assert.equal(driver.powerState('vm-a'), PowerState.RUNNING);
    assert.equal(driver.isRescued('vm-b'), false);
    assert.equal(driver.isRescued('vm-c'), false);
    const finals = recorded.updates.map((u) => [u.expected, u.changes.vm_state, u.changes.task_state]);
    assert.deepEqual(finals, [
      [[TaskState.RESCUING], VmState.RESCUED, null],
      [[TaskState.RESCUING], undefined, null],
      [[TaskState.UNRESCUING], VmState.ACTIVE, null],
    ]);
  });
});
