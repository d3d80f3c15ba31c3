/**
 * Instance actions and their events on every engine: events attach to the action of their request in one
 * statement each, an Error marks the action and stays, and work without an action records nothing.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { userContext } from '../../src/common/context.ts';
import { finishEvent, listActions, startAction, startEvent } from '../../src/objects/instance-actions.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

describeOnEachEngine('instance actions', (database) => {
  const ctx = userContext({ userId: 'u1', projectId: 'p1', roles: ['member'] });

  it('records events under the action of their request, with results and hosts', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db);
    await startAction(db, ctx, uuid, 'create');
    await startEvent(db, uuid, ctx.requestId, 'conductor_schedule_and_build_instances', null);
    await finishEvent(db, uuid, ctx.requestId, 'conductor_schedule_and_build_instances', 'Success');
    await startEvent(db, uuid, ctx.requestId, 'compute_build_and_run_instance', 'host1');
    const [action] = await listActions(db, uuid);
    assert.equal(action?.action, 'create');
    assert.equal(action?.message, null);
    assert.ok(action?.updated_at, 'a finished event touches the action');
    assert.deepEqual(
      action?.events.map((e) => [e.event, e.result, e.host, e.finish_time === null]),
      [
        ['conductor_schedule_and_build_instances', 'Success', null, false],
        ['compute_build_and_run_instance', null, 'host1', true],
      ],
    );
  });

  it('an Error marks the action, and a later success does not clear it', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db);
    await startAction(db, ctx, uuid, 'create');
    await startEvent(db, uuid, ctx.requestId, 'compute_build_and_run_instance', 'bad-host');
    await finishEvent(db, uuid, ctx.requestId, 'compute_build_and_run_instance', 'Error', {
      message: 'spawn failed',
      traceback: 'Error: spawn failed\n    at spawn',
    });
    await startEvent(db, uuid, ctx.requestId, 'compute_build_and_run_instance', 'good-host');
    await finishEvent(db, uuid, ctx.requestId, 'compute_build_and_run_instance', 'Success');
    const [action] = await listActions(db, uuid);
    assert.equal(action?.message, 'Error');
    assert.deepEqual(
      action?.events.map((e) => [e.host, e.result, e.details]),
      [
        ['bad-host', 'Error', 'spawn failed'],
        ['good-host', 'Success', null],
      ],
    );
  });

  it('work that no request started (a periodic task) records nothing', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db);
    await startEvent(db, uuid, 'req-periodic', 'compute_sync_power_state', 'host1');
    await finishEvent(db, uuid, 'req-periodic', 'compute_sync_power_state', 'Success');
    assert.deepEqual(await listActions(db, uuid), []);
  });
});
