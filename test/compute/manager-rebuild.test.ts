/**
 * The compute side of a rebuild with the fake driver: Nova's task states in order, ACTIVE (or STOPPED
 * for a stopped server) with a new launched_at, the old disk's snapshot links dropped and reported;
 * ERROR with a fault and the event in Error on failure; a restart mid-rebuild settled to ERROR.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { rebuildInstance } from '../../src/compute/rebuild.ts';
import type { InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { PowerState, REBUILD_TASKS, TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { managerOnFakeDriver } from '../helpers/recording-conductor.ts';
import { instancePayload } from '../helpers/instance-payload.ts';

/** A server of `vmState` whose rebuild the API has started, now on image `image-2`. */
function rebuilding(uuid: string, vmState: string = VmState.ACTIVE): InstancePayload {
  return {
    ...instancePayload(uuid, {
      vm_state: vmState,
      task_state: TaskState.REBUILDING,
      power_state: vmState === VmState.STOPPED ? PowerState.SHUTDOWN : PowerState.RUNNING,
      launched_at: '2026-01-01T00:00:00Z',
    }),
    image_ref: 'image-2',
  };
}

const setUp = (onHost: InstancePayload[] = []) => managerOnFakeDriver({ onHost });

const args = (instance: InstancePayload) => ({ instance, orig_image_ref: 'image-1', preserve_ephemeral: false });

describe('compute: rebuild_instance', () => {
  it("goes through Nova's task states and ends ACTIVE and running with a new launched_at", async () => {
    const { driver, manager, recorded } = await setUp();
    await driver.spawn(rebuilding('vm-1'), 'h');
    await driver.createDiskSnapshot('vm-1', 'snap-1');
    await rebuildInstance(manager, adminContext(), args(rebuilding('vm-1')));
    assert.deepEqual(
      recorded.updates.map((u) => [u.changes.task_state, u.expected]),
      [
        [undefined, [TaskState.REBUILDING]],
        [TaskState.REBUILD_BLOCK_DEVICE_MAPPING, [TaskState.REBUILDING]],
        [TaskState.REBUILD_SPAWNING, [TaskState.REBUILD_BLOCK_DEVICE_MAPPING]],
        [null, [TaskState.REBUILD_SPAWNING]],
      ],
    );
    const last = recorded.updates.at(-1)!.changes;
    assert.equal(last.vm_state, VmState.ACTIVE);
    assert.equal(last.power_state, PowerState.RUNNING);
    assert.ok(last.launched_at && last.launched_at > '2026-01-01T00:00:00Z', 'launched_at is new');
    assert.deepEqual(recorded.chains, [[]], 'the old disk snapshot links are gone and reported');
    assert.deepEqual(recorded.events, [
      { event: 'compute_rebuild_instance', phase: 'start', error: false },
      { event: 'compute_rebuild_instance', phase: 'finish', error: false },
    ]);
    assert.equal(driver.powerState('vm-1'), PowerState.RUNNING);
  });

  it('leaves a server rebuilt while stopped STOPPED and powered off', async () => {
    const { driver, manager, recorded } = await setUp();
    await driver.spawn(rebuilding('vm-2'), 'h');
    await driver.powerOff('vm-2');
    await rebuildInstance(manager, adminContext(), args(rebuilding('vm-2', VmState.STOPPED)));
    const last = recorded.updates.at(-1)!.changes;
    assert.equal(last.vm_state, VmState.STOPPED);
    assert.equal(last.power_state, PowerState.SHUTDOWN);
    assert.equal(last.task_state, null);
    assert.equal(driver.powerState('vm-2'), PowerState.SHUTDOWN);
  });

  it('rebuilds an ERROR server into ACTIVE, building a guest this host lost anew', async () => {
    const { driver, manager, recorded } = await setUp();
    await rebuildInstance(manager, adminContext(), args(rebuilding('vm-3', VmState.ERROR)));
    assert.equal(recorded.updates.at(-1)!.changes.vm_state, VmState.ACTIVE);
    assert.equal(driver.powerState('vm-3'), PowerState.RUNNING);
    assert.deepEqual(recorded.faults, []);
  });

  it('ends in ERROR with a fault and the event in Error when the driver fails', async () => {
    const { driver, manager, recorded } = await setUp();
    await driver.spawn(rebuilding('vm-4'), 'h');
    driver.rebuild = async () => {
      throw new Error('image image-2 could not be fetched');
    };
    await rebuildInstance(manager, adminContext(), args(rebuilding('vm-4')));
    assert.deepEqual(recorded.updates.at(-1), {
      changes: { vm_state: VmState.ERROR, power_state: PowerState.RUNNING, task_state: null },
      expected: REBUILD_TASKS,
    });
    assert.deepEqual(recorded.faults, ['image image-2 could not be fetched']);
    assert.deepEqual(recorded.events.at(-1), { event: 'compute_rebuild_instance', phase: 'finish', error: true });
  });

  it('settles a rebuild a restart interrupted: ERROR with a fault, the event in Error', async () => {
    for (const task of REBUILD_TASKS) {
      const instance = { ...rebuilding('vm-5'), task_state: task };
      const { manager, recorded } = await setUp([instance]);
      await manager.initHost();
      const settle = recorded.updates.find((u) => u.changes.vm_state === VmState.ERROR);
      assert.deepEqual(settle?.expected, REBUILD_TASKS, task);
      assert.equal(settle?.changes.task_state, null);
      assert.deepEqual(recorded.faults, ['The compute service restarted while this instance was being rebuilt.']);
      assert.deepEqual(recorded.events.at(-1), { event: 'compute_rebuild_instance', phase: 'finish', error: true });
    }
  });
});
