/** Instances: guarded state changes (expected task/vm states), soft delete, and listing as Nova lists servers. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BadRequest, InstanceInvalidState, NotFound } from '../../src/common/errors.ts';
import { createFlavor, type Flavor } from '../../src/objects/flavors.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import {
  findInstance,
  getInstance,
  insertInstance,
  listInstances,
  markInstanceDeleted,
  updateInstance,
  type InstanceFilter,
} from '../../src/objects/instances.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';

describe('instances', () => {
  let database: TestDatabase;
  let flavor: Flavor;

  async function newInstance(
    name: string,
    fields: { project?: string; createdAt?: string; metadata?: Record<string, string> } = {},
  ): Promise<string> {
    const uuid = randomUUID();
    await insertInstance(database.db, {
      uuid,
      display_name: name,
      display_description: null,
      hostname: name,
      user_id: 'u1',
      project_id: fields.project ?? 'p1',
      image_ref: 'img',
      flavor,
      availability_zone: null,
      key_name: null,
      config_drive: '',
      user_data: null,
      reservation_id: 'r-1',
      launch_index: 0,
      access_ip_v4: null,
      access_ip_v6: null,
      metadata: fields.metadata ?? {},
      storage_tier: 'hdd',
    });
    if (fields.createdAt)
      await database.db
        .updateTable('instances')
        .set({ created_at: fields.createdAt })
        .where('uuid', '=', uuid)
        .execute();
    return uuid;
  }

  const invalidState = (pattern: RegExp) => (err: unknown) => {
    assert.ok(err instanceof InstanceInvalidState, `expected InstanceInvalidState, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };

  before(async () => {
    database = await openTestDatabase('sqlite');
    flavor = await createFlavor(database.db, { name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, flavorid: '1' });
  });
  after(() => database?.close());

  describe('updateInstance with expected states', () => {
    it('applies the change when the task state is the expected one', async () => {
      const uuid = await newInstance('vm');
      const before = await getInstance(database.db, uuid);
      assert.equal(before.vm_state, VmState.BUILDING);
      assert.equal(before.task_state, TaskState.SCHEDULING);
      const updated = await updateInstance(
        database.db,
        uuid,
        { task_state: TaskState.SPAWNING, host: 'h1', node: 'n1' },
        { taskState: [TaskState.SCHEDULING] },
      );
      assert.equal(updated.task_state, TaskState.SPAWNING);
      assert.equal(updated.host, 'h1');
      assert.ok(updated.updated_at);
    });

    it('refuses with InstanceInvalidState naming what it found and what was expected', async () => {
      const uuid = await newInstance('vm');
      await assert.rejects(
        updateInstance(
          database.db,
          uuid,
          { task_state: TaskState.POWERING_OFF },
          { taskState: [TaskState.SPAWNING, TaskState.NETWORKING] },
        ),
        invalidState(
          /is in vm_state building, task_state scheduling; expected task_state in \(spawning, networking\)\./,
        ),
      );
      await assert.rejects(
        updateInstance(
          database.db,
          uuid,
          { task_state: null },
          { vmState: [VmState.ACTIVE, VmState.STOPPED], taskState: [TaskState.SCHEDULING] },
        ),
        invalidState(/expected vm_state in \(active, stopped\) and task_state in \(scheduling\)/),
      );
      const unchanged = await getInstance(database.db, uuid);
      assert.equal(unchanged.task_state, TaskState.SCHEDULING);
    });

    it('treats null in the expected task states as "no task"', async () => {
      const uuid = await newInstance('vm');
      await updateInstance(
        database.db,
        uuid,
        { vm_state: VmState.ACTIVE, task_state: null, power_state: 1 },
        { taskState: [TaskState.SCHEDULING] },
      );
      // Only null expected: an idle instance passes.
      const stopping = await updateInstance(
        database.db,
        uuid,
        { task_state: TaskState.POWERING_OFF },
        { vmState: [VmState.ACTIVE], taskState: [null] },
      );
      assert.equal(stopping.task_state, TaskState.POWERING_OFF);
      // A second stop (a message delivered twice) finds a task under way.
      await assert.rejects(
        updateInstance(
          database.db,
          uuid,
          { task_state: TaskState.POWERING_OFF },
          { vmState: [VmState.ACTIVE], taskState: [null] },
        ),
        invalidState(/task_state powering-off; expected vm_state in \(active\) and task_state in \(None\)/),
      );
      // Null together with a named state: either passes.
      await updateInstance(
        database.db,
        uuid,
        { vm_state: VmState.STOPPED, task_state: null },
        { taskState: [TaskState.POWERING_OFF, null] },
      );
      const idle = await updateInstance(
        database.db,
        uuid,
        { display_name: 'renamed' },
        { taskState: [TaskState.POWERING_ON, null] },
      );
      assert.equal(idle.display_name, 'renamed');
      assert.equal(idle.vm_state, VmState.STOPPED);
      await assert.rejects(
        updateInstance(database.db, uuid, { task_state: null }, { taskState: [TaskState.POWERING_ON] }),
        invalidState(/task_state None; expected task_state in \(powering-on\)/),
      );
    });

    it('without expectations always applies; a missing or deleted instance is NotFound', async () => {
      const uuid = await newInstance('vm');
      assert.equal((await updateInstance(database.db, uuid, { progress: 50 })).progress, 50);
      await assert.rejects(updateInstance(database.db, randomUUID(), { progress: 1 }), NotFound);
      await markInstanceDeleted(database.db, uuid);
      await assert.rejects(updateInstance(database.db, uuid, { progress: 1 }, { taskState: [null] }), NotFound);
    });
  });

  describe('markInstanceDeleted', () => {
    it('soft-deletes: the row stays with deleted = id, vm_state deleted, no task', async () => {
      const uuid = await newInstance('doomed', { metadata: { k: 'v' } });
      await updateInstance(database.db, uuid, { task_state: TaskState.DELETING });
      await markInstanceDeleted(database.db, uuid);
      assert.equal(await findInstance(database.db, uuid), null);
      await assert.rejects(getInstance(database.db, uuid), NotFound);
      const row = await getInstance(database.db, uuid, true);
      assert.equal(row.deleted, row.id);
      assert.equal(row.vm_state, VmState.DELETED);
      assert.equal(row.task_state, null);
      assert.equal(row.power_state, 0);
      assert.ok(row.deleted_at);
      assert.equal(row.terminated_at, row.deleted_at);
      assert.deepEqual(row.metadata, { k: 'v' });
    });

    it('is idempotent and ignores an unknown uuid', async () => {
      const uuid = await newInstance('twice');
      await markInstanceDeleted(database.db, uuid);
      const first = await getInstance(database.db, uuid, true);
      await new Promise((r) => setTimeout(r, 5));
      await markInstanceDeleted(database.db, uuid);
      const second = await getInstance(database.db, uuid, true);
      assert.equal(second.deleted_at, first.deleted_at, 'a second delete does not move deleted_at');
      await markInstanceDeleted(database.db, randomUUID());
    });
  });

  describe('listInstances', () => {
    const project = 'list-project';
    const all: string[] = []; // newest first
    const filter = (extra: Partial<InstanceFilter> = {}): InstanceFilter => ({
      projectId: project,
      limit: 1000,
      ...extra,
    });
    const names = (list: { display_name: string }[]) => list.map((i) => i.display_name);

    before(async () => {
      // Created out of order; two share a created_at, so id breaks the tie (the later id is newer).
      const specs: [string, string][] = [
        ['web-1', '2026-01-01T00:00:01.000Z'],
        ['db-1', '2026-01-01T00:00:05.000Z'],
        ['web-2', '2026-01-01T00:00:03.000Z'],
        ['web-3', '2026-01-01T00:00:03.000Z'],
        ['cache-1', '2026-01-01T00:00:02.000Z'],
        ['web-10', '2026-01-01T00:00:04.000Z'],
      ];
      const byName = new Map<string, string>();
      for (const [name, createdAt] of specs) byName.set(name, await newInstance(name, { project, createdAt }));
      for (const name of ['db-1', 'web-10', 'web-3', 'web-2', 'cache-1', 'web-1']) all.push(byName.get(name)!);
      await updateInstance(database.db, byName.get('db-1')!, { vm_state: VmState.ACTIVE, task_state: null });
      await updateInstance(database.db, byName.get('web-2')!, {
        vm_state: VmState.ACTIVE,
        task_state: TaskState.REBOOTING,
      });
      await updateInstance(database.db, byName.get('cache-1')!, { vm_state: VmState.STOPPED, task_state: null });
      await newInstance('other-project', { project: 'someone-else' });
      const gone = await newInstance('web-gone', { project, createdAt: '2026-01-01T00:00:09.000Z' });
      await markInstanceDeleted(database.db, gone);
    });

    it('lists the project’s live instances newest first (created_at desc, then id desc)', async () => {
      const list = await listInstances(database.db, filter());
      assert.deepEqual(
        list.map((i) => i.uuid),
        all,
      );
      assert.deepEqual(names(list), ['db-1', 'web-10', 'web-3', 'web-2', 'cache-1', 'web-1']);
      assert.ok(
        (await listInstances(database.db, { projectId: null, limit: 1000 })).some(
          (i) => i.display_name === 'other-project',
        ),
      );
      assert.deepEqual(names(await listInstances(database.db, filter({ includeDeleted: true }))).slice(0, 2), [
        'web-gone',
        'db-1',
      ]);
    });

    it('pages with limit and marker, without gaps or repeats, ties included', async () => {
      const seen: string[] = [];
      let marker: string | undefined;
      for (let page = 0; page < 10; page++) {
        const list = await listInstances(database.db, filter({ limit: 2, marker }));
        if (!list.length) break;
        assert.ok(list.length <= 2);
        seen.push(...list.map((i) => i.uuid));
        marker = list.at(-1)!.uuid;
      }
      assert.deepEqual(seen, all);
      await assert.rejects(
        listInstances(database.db, filter({ marker: randomUUID() })),
        (err: unknown) => err instanceof BadRequest && /marker .* not found/.test(err.message),
      );
    });

    it('filters by API status, including statuses that depend on the task state', async () => {
      assert.deepEqual(names(await listInstances(database.db, filter({ statuses: ['ACTIVE'] }))), ['db-1', 'web-2']);
      assert.deepEqual(names(await listInstances(database.db, filter({ statuses: ['reboot'] }))), ['web-2']);
      assert.deepEqual(names(await listInstances(database.db, filter({ statuses: ['SHUTOFF'] }))), ['cache-1']);
      assert.deepEqual(names(await listInstances(database.db, filter({ statuses: ['BUILD'] }))), [
        'web-10',
        'web-3',
        'web-1',
      ]);
      assert.deepEqual(
        names(await listInstances(database.db, filter({ statuses: ['DELETED'], includeDeleted: true }))),
        ['web-gone'],
      );
      assert.deepEqual(await listInstances(database.db, filter({ statuses: ['NO-SUCH-STATUS'] })), []);
    });

    it('filters by name as a regular expression, filling the page after the filter', async () => {
      assert.deepEqual(names(await listInstances(database.db, filter({ regex: { display_name: 'web' } }))), [
        'web-10',
        'web-3',
        'web-2',
        'web-1',
      ]);
      assert.deepEqual(names(await listInstances(database.db, filter({ regex: { display_name: '^web-\\d$' } }))), [
        'web-3',
        'web-2',
        'web-1',
      ]);
      assert.deepEqual(
        names(await listInstances(database.db, filter({ regex: { display_name: '^web-\\d$' }, limit: 2 }))),
        ['web-3', 'web-2'],
      );
      assert.deepEqual(
        names(await listInstances(database.db, filter({ regex: { display_name: '1$' }, marker: all[1] }))),
        ['cache-1', 'web-1'],
      );
      // Not a valid regular expression: matched literally rather than refused.
      assert.deepEqual(await listInstances(database.db, filter({ regex: { display_name: 'web-(' } })), []);
    });
  });
});
