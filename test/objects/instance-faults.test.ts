/** Instance faults: a failed build goes to ERROR together with its fault, or not at all. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { failBuild, latestFaults } from '../../src/objects/instance-faults.ts';
import { VmState } from '../../src/wire/messages/instance-states.ts';
import { getInstance } from '../../src/objects/instances.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

describe('failBuild', () => {
  let database: TestDatabase;
  before(async () => {
    database = await openTestDatabase();
  });
  after(async () => {
    await database.close();
  });

  it('puts a building instance in ERROR with its fault', async () => {
    const uuid = await insertTestInstance(database.db);
    assert.equal(await failBuild(database.db, uuid, { code: 500, message: 'No valid host was found.' }), true);
    const instance = await getInstance(database.db, uuid);
    assert.equal(instance.vm_state, VmState.ERROR);
    assert.equal(instance.task_state, null);
    assert.equal((await latestFaults(database.db, [uuid])).get(uuid)?.message, 'No valid host was found.');
  });

  it('changes nothing, and records no fault, for an instance no longer building', async () => {
    const deleted = await insertTestInstance(database.db, { deleted: true });
    const failedAlready = await insertTestInstance(database.db);
    await failBuild(database.db, failedAlready, { code: 500, message: 'first' });
    assert.equal(await failBuild(database.db, deleted, { code: 500, message: 'late' }), false);
    assert.equal(await failBuild(database.db, failedAlready, { code: 500, message: 'second' }), false);
    assert.equal((await latestFaults(database.db, [deleted])).size, 0);
    assert.equal((await latestFaults(database.db, [failedAlready])).get(failedAlready)?.message, 'first');
  });
});
