/**
 * Compute start-up and builds: one that never started (still scheduling, its request queued for this
 * host) is left for that request and then built; one a restart interrupted mid-spawn goes to ERROR, at
 * start-up or, if that failed, at the watchdog's next check.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { instancePayload } from '../helpers/instance-payload.ts';
import { managerOnFakeDriver } from '../helpers/recording-conductor.ts';

describe('ComputeManager.initHost: builds found at start-up', () => {
  it('leaves a build that never started to its queued request, which then builds it', async () => {
    const queued = instancePayload('vm-queued');
    const { driver, manager, recorded } = await managerOnFakeDriver({ onHost: [queued] });
    await manager.initHost();
    assert.equal(recorded.updates.length, 0, 'nothing changed at start-up');
    assert.deepEqual(recorded.faults, []);
    // The request that waited in the host's queue arrives once the service consumes again.
    await manager.buildAndRunInstance(adminContext(), queued, 'h', [], 1);
    assert.ok(driver.listGuests().some((g) => g.uuid === 'vm-queued'));
    assert.equal(recorded.updates[0]!.changes.task_state, TaskState.SPAWNING);
    assert.equal(recorded.updates.at(-1)!.changes.vm_state, VmState.ACTIVE);
  });

  it('puts a build the restart interrupted (spawning) in ERROR with a fault', async () => {
    const spawning = instancePayload('vm-spawning', { task_state: TaskState.SPAWNING });
    const { manager, recorded } = await managerOnFakeDriver({ onHost: [spawning] });
    await manager.initHost();
    assert.equal(recorded.updates[0]!.changes.vm_state, VmState.ERROR);
    assert.deepEqual(recorded.faults, ['The compute service restarted while this instance was being built.']);
    assert.deepEqual(
      recorded.reschedules.map((r) => [r.uuid, r.abort]),
      [['vm-spawning', true]],
      'its claim is given back, with no retry elsewhere',
    );
  });

  it('settles again, at the watchdog, an interrupted build whose start-up settling failed', async () => {
    const spawning = instancePayload('vm-unsettled', { task_state: TaskState.SPAWNING });
    let refuse = true;
    const changes: unknown[] = [];
    const { manager } = await managerOnFakeDriver({
      onHost: [spawning],
      conductor: {
        // The broker restarts during start-up: the first update cannot reach the conductor.
        instanceUpdate: async (_ctx: unknown, _uuid: string, change: unknown) => {
          if (refuse) throw new Error('lost connection to RabbitMQ');
          changes.push(change);
        },
      },
    });
    await manager.initHost();
    assert.deepEqual(changes, [], 'start-up could not settle it');
    await manager.watchdog.check();
    assert.deepEqual(changes, [], 'still unreachable: tried again, and kept for the next check');
    refuse = false;
    await manager.watchdog.check();
    assert.deepEqual(changes, [{ vm_state: VmState.ERROR, task_state: null }]);
    await manager.watchdog.check();
    assert.equal(changes.length, 1, 'settled once');
  });
});
