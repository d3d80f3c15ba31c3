/**
 * Disk snapshot records: how the chain a compute host reports settles each status (the pure rule), and
 * the records' life on every engine (create, guarded status change, sync with soft-delete, deletion with
 * the instance).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  changeDiskSnapshotStatus,
  createDiskSnapshotRecord,
  DiskSnapshotStatus,
  listDiskSnapshots,
  reconcileDiskSnapshots,
  syncDiskSnapshots,
} from '../../src/objects/disk-snapshots.ts';
import { markInstanceDeleted } from '../../src/objects/instances.ts';
import { DiskSnapshotLinkShape } from '../../src/wire/messages/disk-snapshot-link.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

/** A link as a compute host reports it. */
const link = (id: string, size: number | null) => DiskSnapshotLinkShape.build({ id, size });
const row = (uuid: string, status: DiskSnapshotStatus, size: number | null = null) => ({ uuid, status, size });

describe('reconcileDiskSnapshots', () => {
  it('settles every status against the chain', () => {
    const rows = [
      row('created', 'creating'),
      row('failed', 'creating'),
      row('kept', 'available', 10),
      row('merged', 'deleting', 5),
      row('stuck', 'deleting', 5),
      row('discarded', 'available', 7),
      row('old-error', 'error'),
      row('retry', 'error_deleting', 3),
    ];
    const chain = [link('kept', 10), link('created', 4096), link('stuck', 6)];
    assert.deepEqual(reconcileDiskSnapshots(rows, chain), [
      { uuid: 'created', kind: 'update', status: 'available', size: 4096 },
      { uuid: 'failed', kind: 'update', status: 'error', size: null },
      { uuid: 'merged', kind: 'deleted' },
      { uuid: 'stuck', kind: 'update', status: 'error_deleting', size: 6 },
      { uuid: 'discarded', kind: 'deleted' },
      { uuid: 'retry', kind: 'deleted' },
    ]);
  });

  it('without a chain ends only the operations under way, in error', () => {
    const rows = [row('a', 'creating'), row('b', 'deleting'), row('c', 'available', 1), row('d', 'error')];
    assert.deepEqual(reconcileDiskSnapshots(rows, null), [
      { uuid: 'a', kind: 'update', status: 'error', size: null },
      { uuid: 'b', kind: 'update', status: 'error_deleting', size: null },
    ]);
  });
});

describeOnEachEngine('disk snapshot records', (database) => {
  it('are created, guarded, synced with the chain and soft-deleted', async () => {
    const db = database().db;
    const instance = await insertTestInstance(db, { host: 'h1' });
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    for (const [uuid, name] of [
      [a, 'a'],
      [b, 'b'],
      [c, 'c'],
    ] as const) {
      await createDiskSnapshotRecord(db, { uuid, instanceUuid: instance, projectId: 'p1', userId: 'u1', name });
    }
    await syncDiskSnapshots(db, instance, [link(a, 1 << 20), link(b, 2 << 20)]);
    assert.deepEqual(
      (await listDiskSnapshots(db, instance)).map((s) => [s.name, s.status, s.size]),
      [
        ['a', 'available', 1 << 20],
        ['b', 'available', 2 << 20],
        ['c', 'error', null],
      ],
    );
    assert.equal(await changeDiskSnapshotStatus(db, a, DiskSnapshotStatus.DELETING, ['available']), true);
    assert.equal(await changeDiskSnapshotStatus(db, a, DiskSnapshotStatus.DELETING, ['available']), false);
    await syncDiskSnapshots(db, instance, [link(b, 3 << 20)]);
    assert.deepEqual(
      (await listDiskSnapshots(db, instance)).map((s) => [s.name, s.status, s.size]),
      [
        ['b', 'available', 3 << 20],
        ['c', 'error', null],
      ],
    );
    await markInstanceDeleted(db, instance);
    assert.deepEqual(await listDiskSnapshots(db, instance), []);
    const rows = await db
      .selectFrom('disk_snapshots')
      .select(['id', 'deleted'])
      .where('instance_uuid', '=', instance)
      .execute();
    assert.equal(rows.length, 3);
    for (const r of rows) assert.equal(r.deleted, r.id, 'soft-deleted with its own id');
  });
});
