/**
 * Disk snapshots (a Stratus extension): the user's view of the links of an instance's external qcow2
 * snapshot chain. The compute host owns the chain itself; these rows carry each link's name and status.
 *
 * Statuses, after Cinder's snapshots: `creating` (the API asked for it), `available` (a link of the
 * chain), `deleting` (being merged into its child), `error` (taking it failed: no link exists),
 * `error_deleting` (merging it failed: the link is still in the chain, delete it again). A revert
 * discards the later links: their rows are deleted.
 *
 * After every disk snapshot operation, and when a compute service restarts in the middle of one, the
 * compute host reports the chain as its driver sees it and `syncDiskSnapshots` brings the rows in line
 * (`reconcileDiskSnapshots`): the status the API set says what was attempted, the chain says what came of
 * it. Nothing is left `creating` or `deleting`.
 */
import type { ExpressionBuilder } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { now, type Schema } from '../common/db/schema.ts';
import type { DiskSnapshotLink } from '../wire/messages/disk-snapshot-link.ts';

export const DiskSnapshotStatus = {
  CREATING: 'creating',
  AVAILABLE: 'available',
  DELETING: 'deleting',
  ERROR: 'error',
  ERROR_DELETING: 'error_deleting',
} as const;
export type DiskSnapshotStatus = (typeof DiskSnapshotStatus)[keyof typeof DiskSnapshotStatus];

export interface DiskSnapshot {
  readonly uuid: string;
  readonly instance_uuid: string;
  readonly project_id: string;
  readonly user_id: string;
  readonly name: string;
  readonly status: DiskSnapshotStatus;
  readonly size: number | null;
  readonly created_at: string;
  readonly updated_at: string | null;
}

const COLUMNS = [
  'uuid',
  'instance_uuid',
  'project_id',
  'user_id',
  'name',
  'status',
  'size',
  'created_at',
  'updated_at',
] as const;

export async function createDiskSnapshotRecord(
  db: Db,
  record: { uuid: string; instanceUuid: string; projectId: string; userId: string; name: string },
): Promise<DiskSnapshot> {
  const row = {
    uuid: record.uuid,
    instance_uuid: record.instanceUuid,
    project_id: record.projectId,
    user_id: record.userId,
    name: record.name,
    status: DiskSnapshotStatus.CREATING,
    size: null,
    created_at: now(),
    updated_at: null,
  };
  await db
    .insertInto('disk_snapshots')
    .values({ ...row, deleted_at: null, deleted: 0 })
    .execute();
  return row;
}

/** The instance's live snapshots; `status` holds only DiskSnapshotStatus values (this module writes it). */
function liveSnapshots(db: Db, instanceUuid: string) {
  return db
    .selectFrom('disk_snapshots')
    .select(COLUMNS)
    .where('instance_uuid', '=', instanceUuid)
    .where('deleted', '=', 0)
    .$narrowType<{ status: DiskSnapshotStatus }>();
}

/** The instance's live snapshots, oldest first (the order of the chain). */
export function listDiskSnapshots(db: Db, instanceUuid: string): Promise<DiskSnapshot[]> {
  return liveSnapshots(db, instanceUuid).orderBy('created_at').orderBy('id').execute();
}

export async function findDiskSnapshot(db: Db, instanceUuid: string, uuid: string): Promise<DiskSnapshot | null> {
  return (await liveSnapshots(db, instanceUuid).where('uuid', '=', uuid).executeTakeFirst()) ?? null;
}

/** Moves a live snapshot to `status` if it is in one of `expected`; false when it is not (a racing request). */
export async function changeDiskSnapshotStatus(
  db: Db,
  uuid: string,
  status: DiskSnapshotStatus,
  expected: readonly DiskSnapshotStatus[],
): Promise<boolean> {
  const result = await db
    .updateTable('disk_snapshots')
    .set({ status, updated_at: now() })
    .where('uuid', '=', uuid)
    .where('deleted', '=', 0)
    .where('status', 'in', [...expected])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The `set` of a soft delete at `timestamp`: `deleted` becomes the row's id (live rows have 0), as for instances. */
function softDeleted(timestamp: string) {
  return (eb: ExpressionBuilder<Schema, 'disk_snapshots'>) => ({
    deleted: eb.ref('id'),
    deleted_at: timestamp,
    updated_at: timestamp,
  });
}

/** Removes a record no operation ever worked on (its request was refused after it was written). */
export async function removeDiskSnapshotRecord(db: Db, uuid: string): Promise<void> {
  await db.deleteFrom('disk_snapshots').where('uuid', '=', uuid).execute();
}

/** What one row becomes: a new status and size, `deleted`, or nothing. */
export type DiskSnapshotChange =
  { uuid: string; kind: 'deleted' } | { uuid: string; kind: 'update'; status: DiskSnapshotStatus; size: number | null };

/**
 * What the rows become, given the chain the compute host reports (null: the driver could not tell, as
 * when the guest is gone). A row in the chain is `available` (or `error_deleting` if a delete of it was
 * attempted); a row not in it is `error` if it was being created, and deleted if it was a link (merged
 * away or discarded by a revert). Without a chain only the operations under way end, in error.
 */
export function reconcileDiskSnapshots(
  rows: readonly Pick<DiskSnapshot, 'uuid' | 'status' | 'size'>[],
  chain: readonly DiskSnapshotLink[] | null,
): DiskSnapshotChange[] {
  const changes: DiskSnapshotChange[] = [];
  const links = chain && new Map(chain.map((link) => [link.id, link]));
  for (const row of rows) {
    const link = links?.get(row.uuid);
    let status: DiskSnapshotStatus;
    let size = row.size;
    if (!links) {
      if (row.status === DiskSnapshotStatus.CREATING) status = DiskSnapshotStatus.ERROR;
      else if (row.status === DiskSnapshotStatus.DELETING) status = DiskSnapshotStatus.ERROR_DELETING;
      else continue;
    } else if (link) {
      const deleting = row.status === DiskSnapshotStatus.DELETING || row.status === DiskSnapshotStatus.ERROR_DELETING;
      status = deleting ? DiskSnapshotStatus.ERROR_DELETING : DiskSnapshotStatus.AVAILABLE;
      size = link.size;
    } else if (row.status === DiskSnapshotStatus.CREATING || row.status === DiskSnapshotStatus.ERROR) {
      status = DiskSnapshotStatus.ERROR;
    } else {
      changes.push({ uuid: row.uuid, kind: 'deleted' });
      continue;
    }
    if (status !== row.status || size !== row.size) changes.push({ uuid: row.uuid, kind: 'update', status, size });
  }
  return changes;
}

/** Brings the instance's rows in line with the chain its compute host reports (see reconcileDiskSnapshots). */
export async function syncDiskSnapshots(
  db: Db,
  instanceUuid: string,
  chain: readonly DiskSnapshotLink[] | null,
): Promise<void> {
  const timestamp = now();
  for (const change of reconcileDiskSnapshots(await listDiskSnapshots(db, instanceUuid), chain)) {
    const query = db.updateTable('disk_snapshots').where('uuid', '=', change.uuid).where('deleted', '=', 0);
    if (change.kind === 'update') {
      await query.set({ status: change.status, size: change.size, updated_at: timestamp }).execute();
    } else {
      await query.set(softDeleted(timestamp)).execute();
    }
  }
}

/** The instance is deleted: so are its snapshots (its compute host removed their files with its disks). */
export async function deleteDiskSnapshotsOfInstance(db: Db, instanceUuid: string): Promise<void> {
  await db
    .updateTable('disk_snapshots')
    .set(softDeleted(now()))
    .where('instance_uuid', '=', instanceUuid)
    .where('deleted', '=', 0)
    .execute();
}
