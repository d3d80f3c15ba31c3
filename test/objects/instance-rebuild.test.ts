/**
 * The rebuild's write into an instance, on every engine: columns and metadata together when the states
 * match, nothing at all when they do not, and metadata left alone when the rebuild gives none.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { InstanceInvalidState } from '../../src/common/errors.ts';
import { writeRebuildRecord } from '../../src/objects/instance-rebuild.ts';
import { getInstance, updateInstance } from '../../src/objects/instances.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

const FROM = { vmState: [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR], taskState: [null] };

describeOnEachEngine('writeRebuildRecord', (database) => {
  it('writes the columns and replaces the metadata in the expected states', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db, { host: 'h1' });
    await updateInstance(db, uuid, { vm_state: VmState.ACTIVE, task_state: null });
    await writeRebuildRecord(db, uuid, { image_ref: 'img-2', display_name: 'n' }, { a: '1' }, FROM);
    await writeRebuildRecord(db, uuid, { task_state: TaskState.REBUILDING, key_name: null }, { b: '2', c: '3' }, FROM);
    const now = await getInstance(db, uuid);
    assert.equal(now.image_ref, 'img-2');
    assert.equal(now.display_name, 'n');
    assert.equal(now.task_state, TaskState.REBUILDING);
    assert.deepEqual(now.metadata, { b: '2', c: '3' });
  });

  it('writes nothing, metadata included, when the instance is not in the expected states', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db, { host: 'h1' });
    await updateInstance(db, uuid, { vm_state: VmState.PAUSED, task_state: null });
    await assert.rejects(
      writeRebuildRecord(db, uuid, { image_ref: 'img-3' }, { x: 'y' }, FROM),
      (err: unknown) => err instanceof InstanceInvalidState,
    );
    const now = await getInstance(db, uuid);
    assert.equal(now.image_ref, 'img');
    assert.deepEqual(now.metadata, {});
  });

  it('keeps the metadata when none is given, and guards on a task', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db, { host: 'h1' });
    await updateInstance(db, uuid, { vm_state: VmState.ACTIVE, task_state: TaskState.REBUILDING });
    await writeRebuildRecord(
      db,
      uuid,
      { image_ref: 'img-4' },
      { keep: 'me' },
      {
        vmState: [VmState.ACTIVE],
        taskState: [TaskState.REBUILDING],
      },
    );
    await writeRebuildRecord(db, uuid, { task_state: null }, undefined, {
      vmState: [VmState.ACTIVE],
      taskState: [TaskState.REBUILDING],
    });
    const now = await getInstance(db, uuid);
    assert.equal(now.task_state, null);
    assert.deepEqual(now.metadata, { keep: 'me' });
  });
});
