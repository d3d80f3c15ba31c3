/**
 * The compute side of createImage with the fake driver: the task states in Nova's order, the placeholder
 * data uploaded with its formats, and on failure the image deleted, the task cleared, the error recorded
 * and the vm_state left alone.
 */
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import type { SnapshotImageSink } from '../../src/compute/image/image-client.ts';
import type { InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { PowerState, TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { instancePayload } from '../helpers/instance-payload.ts';
import { managerOnFakeDriver } from '../helpers/recording-conductor.ts';

/** An image API stand-in: keeps what is uploaded and deleted; `failUpload` makes the upload fail. */
class RecordingSink implements SnapshotImageSink {
  readonly uploads: { imageId: string; data: string; diskFormat: string; containerFormat: string }[] = [];
  readonly deleted: string[] = [];
  failUpload: Error | null = null;

  async upload(imageId: string, data: Readable, formats: { diskFormat: string; containerFormat: string }) {
    const body = await text(data);
    if (this.failUpload) throw this.failUpload;
    this.uploads.push({ imageId, data: body, ...formats });
  }

  async delete(imageId: string) {
    this.deleted.push(imageId);
    this.backups = this.backups.filter((id) => id !== imageId);
  }

  /** The server's backups the image API would list, newest first. */
  backups: string[] = [];
  async backupsOf(_instanceUuid: string, _backupType: string): Promise<string[]> {
    return [...this.backups];
  }
}

/** A running server whose snapshot the API has started. */
function payload(uuid: string): InstancePayload {
  return instancePayload(uuid, {
    vm_state: VmState.ACTIVE,
    task_state: TaskState.IMAGE_SNAPSHOT,
    power_state: PowerState.RUNNING,
    launched_at: '2026-01-01T00:00:00Z',
  });
}

async function setUp() {
  const sink = new RecordingSink();
  return { ...(await managerOnFakeDriver({ images: sink })), sink };
}

describe('compute: snapshot_instance', () => {
  it('moves through image_pending_upload and image_uploading, uploads the data, and ends with no task', async () => {
    const { driver, manager, recorded, sink } = await setUp();
    await driver.spawn(payload('vm-1'), 'h');
    await manager.snapshotInstance(adminContext(), payload('vm-1'), 'image-1');
    assert.deepEqual(
      recorded.updates.map((u) => [u.changes.task_state, u.expected]),
      [
        [TaskState.IMAGE_PENDING_UPLOAD, [TaskState.IMAGE_SNAPSHOT]],
        [TaskState.IMAGE_UPLOADING, [TaskState.IMAGE_PENDING_UPLOAD]],
        [null, [TaskState.IMAGE_UPLOADING]],
      ],
    );
    assert.ok(
      recorded.updates.every((u) => u.changes.vm_state === undefined),
      'the vm_state never changes',
    );
    assert.deepEqual(sink.uploads, [
      {
        imageId: 'image-1',
        data: 'Stratus fake driver snapshot of guest vm-1\n',
        diskFormat: 'raw',
        containerFormat: 'bare',
      },
    ]);
    assert.deepEqual(sink.deleted, []);
    assert.deepEqual(recorded.events, [
      { event: 'compute_snapshot_instance', phase: 'start', error: false },
      { event: 'compute_snapshot_instance', phase: 'finish', error: false },
    ]);
    assert.equal(driver.listGuests()[0]?.powerState, PowerState.RUNNING);
  });

  it('deletes the image, clears the task and records the error when the upload fails', async () => {
    const { driver, manager, recorded, sink } = await setUp();
    await driver.spawn(payload('vm-2'), 'h');
    sink.failUpload = new Error('the image API answered HTTP 413');
    await manager.snapshotInstance(adminContext(), payload('vm-2'), 'image-2');
    assert.deepEqual(sink.deleted, ['image-2']);
    assert.deepEqual(recorded.updates.at(-1), { changes: { task_state: null }, expected: [TaskState.IMAGE_UPLOADING] });
    assert.ok(recorded.updates.every((u) => u.changes.vm_state === undefined));
    assert.deepEqual(recorded.faults, ['the image API answered HTTP 413']);
    assert.deepEqual(recorded.events.at(-1), { event: 'compute_snapshot_instance', phase: 'finish', error: true });
  });

  it('deletes the image and clears the task when the driver cannot capture the disk', async () => {
    const { manager, recorded, sink } = await setUp();
    await manager.snapshotInstance(adminContext(), payload('not-on-this-host'), 'image-3');
    assert.deepEqual(sink.uploads, []);
    assert.deepEqual(sink.deleted, ['image-3']);
    assert.deepEqual(recorded.updates.at(-1), {
      changes: { task_state: null },
      expected: [TaskState.IMAGE_PENDING_UPLOAD],
    });
    assert.deepEqual(recorded.faults, ['guest not-on-this-host is not on this host']);
    assert.deepEqual(recorded.events.at(-1), { event: 'compute_snapshot_instance', phase: 'finish', error: true });
  });
});

describe('compute: backup_instance', () => {
  const backing = (uuid: string) => ({ ...payload(uuid), task_state: TaskState.IMAGE_BACKUP });

  it('uploads as a snapshot from task image_backup, then deletes the oldest backups beyond the rotation', async () => {
    const { driver, manager, recorded, sink } = await setUp();
    await driver.spawn(backing('vm-b'), 'h');
    sink.backups = ['b-new', 'b-mid', 'b-old', 'b-oldest'];
    await manager.backupInstance(adminContext(), backing('vm-b'), 'b-new', 'daily', 2);
    assert.deepEqual(recorded.updates[0]?.expected, [TaskState.IMAGE_BACKUP]);
    assert.deepEqual(
      sink.uploads.map((u) => u.imageId),
      ['b-new'],
    );
    assert.deepEqual(sink.deleted, ['b-oldest', 'b-old']);
    assert.deepEqual(recorded.events.at(-1), { event: 'compute_backup_instance', phase: 'finish', error: false });
  });

  it('rotation 0 deletes every backup of the type, the new one included', async () => {
    const { driver, manager, sink } = await setUp();
    await driver.spawn(backing('vm-z'), 'h');
    sink.backups = ['z-new', 'z-old'];
    await manager.backupInstance(adminContext(), backing('vm-z'), 'z-new', 'weekly', 0);
    assert.deepEqual(sink.deleted, ['z-old', 'z-new']);
  });

  it('rotates nothing when the upload failed', async () => {
    const { driver, manager, recorded, sink } = await setUp();
    await driver.spawn(backing('vm-f'), 'h');
    sink.backups = ['f-1', 'f-2', 'f-3'];
    sink.failUpload = new Error('upload refused');
    await manager.backupInstance(adminContext(), backing('vm-f'), 'f-new', 'daily', 1);
    assert.deepEqual(sink.deleted, ['f-new']);
    assert.deepEqual(recorded.faults, ['upload refused']);
  });
});

describe('compute: shelve_instance failing', () => {
  it('deletes the image, clears the task with the guest powered off, and leaves the vm_state', async () => {
    const { driver, manager, recorded, sink } = await setUp();
    const shelving = { ...payload('vm-s'), task_state: TaskState.SHELVING };
    await driver.spawn(shelving, 'h');
    sink.failUpload = new Error('no room for the image');
    await manager.shelving.shelve(adminContext(), shelving, 'shelved-1');
    assert.deepEqual(
      recorded.updates.map((u) => [u.changes.task_state, u.expected]),
      [
        [TaskState.SHELVING_IMAGE_PENDING_UPLOAD, [TaskState.SHELVING]],
        [TaskState.SHELVING_IMAGE_UPLOADING, [TaskState.SHELVING_IMAGE_PENDING_UPLOAD]],
        [null, [TaskState.SHELVING_IMAGE_UPLOADING]],
      ],
    );
    assert.equal(recorded.updates.at(-1)?.changes.power_state, PowerState.SHUTDOWN);
    assert.ok(recorded.updates.every((u) => u.changes.vm_state === undefined));
    assert.ok(sink.deleted.includes('shelved-1'));
    assert.deepEqual(recorded.faults, ['no room for the image']);
    assert.deepEqual(recorded.events.at(-1), { event: 'compute_shelve_instance', phase: 'finish', error: true });
  });
});
