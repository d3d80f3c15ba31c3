/**
 * A build's start and end recorded through a broker or database restart (src/compute/build-records.ts):
 * a record whose call was lost is sent again; one whose reply alone was lost is recognised from the
 * instance as it now is; a build rescheduled to another host is not started by a late copy of its cast
 * here; a copy delivered while this host builds it is dropped. The conductor is a stand-in holding the
 * instance's row and guarding each change as the real one does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { InstanceInvalidState } from '../../src/common/errors.ts';
import { MessageDeliveryFailure, MessagingTimeout } from '../../src/common/rpc/errors.ts';
import type { InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { instancePayload } from '../helpers/instance-payload.ts';
import { managerOnFakeDriver } from '../helpers/recording-conductor.ts';

type Row = { vm_state: string; task_state: string | null; host: string };

/**
 * A conductor whose instance_update guards task state and host on `row`; `lose(n, applied)` says, for
 * the n-th call, whether it is lost before it is applied ('call'), after ('reply'), or not at all.
 */
function guardingConductor(row: Row, lose: (n: number) => 'call' | 'reply' | null) {
  let n = 0;
  const calls: { task: string | null | undefined; host: string | undefined }[] = [];
  return {
    calls,
    conductor: {
      instanceUpdate: async (
        _ctx: unknown,
        _uuid: string,
        changes: { vm_state?: string; task_state?: string | null },
        expected?: (string | null)[],
        _event?: unknown,
        _vm?: unknown,
        host?: string,
      ) => {
        n += 1;
        calls.push({ task: changes.task_state, host });
        const lost = lose(n);
        if (lost === 'call') throw new MessageDeliveryFailure('Lost connection to RabbitMQ');
        if (expected && !expected.includes(row.task_state)) throw new InstanceInvalidState('task changed');
        if (host !== undefined && host !== row.host) throw new InstanceInvalidState('placed elsewhere');
        Object.assign(row, changes);
        if (lost === 'reply') throw new MessagingTimeout('Timed out waiting for a reply');
      },
      instancesOnHost: async (_ctx: unknown, host: string, uuid: string): Promise<InstancePayload[]> =>
        row.host === host ? [instancePayload(uuid, { vm_state: row.vm_state, task_state: row.task_state, host })] : [],
    },
  };
}

describe('build-records: a build recorded through a restart', () => {
  const config = { DEFAULT: { rpc_response_timeout: '5' } };

  it('sends the end of a build again when its call was lost, and the build ends ACTIVE', async () => {
    const row: Row = { vm_state: VmState.BUILDING, task_state: TaskState.SCHEDULING, host: 'h' };
    const { conductor, calls } = guardingConductor(row, (n) => (n === 2 ? 'call' : null));
    const { driver, manager, recorded } = await managerOnFakeDriver({ config, conductor });
    await manager.buildAndRunInstance(adminContext(), instancePayload('vm-1'), 'h', [], 1);
    assert.equal(row.vm_state, VmState.ACTIVE);
    assert.equal(calls.length, 3, 'start, the lost end, the end again');
    assert.ok(driver.listGuests().some((g) => g.uuid === 'vm-1'));
    assert.deepEqual(recorded.reschedules, []);
  });

  it('takes a refused retry for success when the first end was applied and only its reply lost', async () => {
    const row: Row = { vm_state: VmState.BUILDING, task_state: TaskState.SCHEDULING, host: 'h' };
    const { conductor } = guardingConductor(row, (n) => (n === 2 ? 'reply' : null));
    const { driver, manager, recorded } = await managerOnFakeDriver({ config, conductor });
    await manager.buildAndRunInstance(adminContext(), instancePayload('vm-2'), 'h', [], 1);
    assert.equal(row.vm_state, VmState.ACTIVE);
    assert.ok(
      driver.listGuests().some((g) => g.uuid === 'vm-2'),
      'the guest is kept, not removed as refused',
    );
    assert.deepEqual(recorded.reschedules, []);
  });

  it('goes on with a build whose start was applied and only its reply lost', async () => {
    const row: Row = { vm_state: VmState.BUILDING, task_state: TaskState.SCHEDULING, host: 'h' };
    const { conductor } = guardingConductor(row, (n) => (n === 1 ? 'reply' : null));
    const { driver, manager } = await managerOnFakeDriver({ config, conductor });
    await manager.buildAndRunInstance(adminContext(), instancePayload('vm-3'), 'h', [], 1);
    assert.deepEqual([row.vm_state, row.task_state], [VmState.ACTIVE, null]);
    assert.ok(driver.listGuests().some((g) => g.uuid === 'vm-3'));
  });

  it('does not start a build rescheduled to another host when a late copy of its cast arrives here', async () => {
    const row: Row = { vm_state: VmState.BUILDING, task_state: TaskState.SCHEDULING, host: 'other' };
    const { conductor, calls } = guardingConductor(row, () => null);
    const { driver, manager } = await managerOnFakeDriver({ config, conductor });
    await manager.buildAndRunInstance(adminContext(), instancePayload('vm-4', { host: 'h' }), 'h', [], 1);
    assert.deepEqual(calls, [{ task: TaskState.SPAWNING, host: 'h' }], 'the start is guarded on this host');
    assert.deepEqual([row.task_state, row.host], [TaskState.SCHEDULING, 'other'], 'left for the other host');
    assert.ok(!driver.listGuests().some((g) => g.uuid === 'vm-4'), 'no guest made here');
  });

  it('drops a copy of the cast delivered while this host builds the instance', async () => {
    const row: Row = { vm_state: VmState.BUILDING, task_state: TaskState.SCHEDULING, host: 'h' };
    const { conductor, calls } = guardingConductor(row, () => null);
    const { manager } = await managerOnFakeDriver({ config, conductor });
    const ctx = adminContext();
    await Promise.all([
      manager.buildAndRunInstance(ctx, instancePayload('vm-5'), 'h', [], 1),
      manager.buildAndRunInstance(ctx, instancePayload('vm-5'), 'h', [], 1),
    ]);
    assert.equal(calls.length, 2, 'one start and one end: the copy sent nothing');
    assert.equal(row.vm_state, VmState.ACTIVE);
    assert.ok(!manager.buildsUnderWay.has('vm-5'));
  });
});
