/**
 * Migrations (Nova's `migrations` table, migration 0027): one row per resize, cold migration or
 * evacuation of a server. The row's uuid is also the placement consumer holding the source host's
 * resources while the move is under way (Nova's migration-based allocations). Statuses as Nova's:
 * pre-migrating, migrating, post-migrating, finished (the server is VERIFY_RESIZE), confirming, confirmed,
 * reverting, reverted, error; an evacuation's accepted, pre-migrating, done (or failed), completed; a live
 * migration's accepted, queued, preparing, running, post-migrating, completed (or error, cancelled).
 * Every change is guarded by the statuses expected, so a step delivered twice, or racing with another,
 * changes nothing the second time.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { afterMarker, orderTerms, type SortKey } from '../common/db/keyset-pagination.ts';
import { now, type MigrationsTable } from '../common/db/schema.ts';
import { NotFound } from '../common/errors.ts';
import type { Flavor } from './flavors.ts';

export type MigrationType = 'migration' | 'resize' | 'live-migration' | 'evacuation';

export const MigrationStatus = {
  PRE_MIGRATING: 'pre-migrating',
  MIGRATING: 'migrating',
  POST_MIGRATING: 'post-migrating',
  FINISHED: 'finished',
  CONFIRMING: 'confirming',
  CONFIRMED: 'confirmed',
  REVERTING: 'reverting',
  REVERTED: 'reverted',
  ERROR: 'error',
  /** An evacuation the API recorded; the conductor has not scheduled it yet. */
  ACCEPTED: 'accepted',
  /** An evacuation whose guest runs on its destination; the source host has not cleaned up yet. */
  DONE: 'done',
  /** An evacuation the destination could not rebuild (the server was put back on its source). */
  FAILED: 'failed',
  /** An evacuation whose source host removed what was left of the guest (Nova's _destroy_evacuated_instances). */
  COMPLETED: 'completed',
  /** A live migration the conductor has scheduled and checked; its destination prepares next. */
  QUEUED: 'queued',
  /** A live migration whose destination prepares the guest (disks, NICs, a qemu waiting for the state). */
  PREPARING: 'preparing',
  /** A live migration whose source streams the guest to the destination. */
  RUNNING: 'running',
  /** A live migration aborted by an admin (the guest runs on at the source). */
  CANCELLED: 'cancelled',
} as const;

/**
 * The statuses of a move not yet confirmed or reverted (nor failed): while its migration is in one, the
 * server counts the larger of its two flavors against the cores and ram quotas (objects/quotas.ts).
 */
export const UNFINISHED_MIGRATION_STATUSES: readonly string[] = [
  MigrationStatus.PRE_MIGRATING,
  MigrationStatus.MIGRATING,
  MigrationStatus.POST_MIGRATING,
  MigrationStatus.FINISHED,
  MigrationStatus.CONFIRMING,
  MigrationStatus.REVERTING,
];

export interface MigrationRecord {
  id: number;
  uuid: string;
  instance_uuid: string;
  migration_type: MigrationType;
  status: string;
  source_compute: string | null;
  source_node: string | null;
  dest_compute: string | null;
  dest_node: string | null;
  dest_host: string | null;
  old_instance_type_id: number | null;
  new_instance_type_id: number | null;
  old_flavor: Flavor;
  new_flavor: Flavor;
  user_id: string | null;
  project_id: string | null;
  hidden: boolean;
  /** A live migration's transfer so far (bytes), as its source last reported it; null before. */
  memory_total: number | null;
  memory_processed: number | null;
  memory_remaining: number | null;
  disk_total: number | null;
  disk_processed: number | null;
  disk_remaining: number | null;
  created_at: string;
  updated_at: string | null;
}

/** Nova's migration filters; every field narrows the list. */
export interface MigrationFilter {
  instanceUuid?: string;
  /** Either side of the move (Nova's `host`). */
  host?: string;
  sourceCompute?: string;
  status?: string;
  migrationType?: string;
  /** Timestamps in the stored format: updated (or created) at or after / at or before. */
  changesSince?: string;
  changesBefore?: string;
  userId?: string;
  projectId?: string;
  /** Only the moves of these statuses (the live migrations in progress of one server). */
  statuses?: readonly string[];
}

/** A page in Nova's order (newest first: created_at, then id, descending), after the marker's row. */
export interface MigrationPage {
  limit?: number;
  /** A migration's uuid; one that does not exist is the caller's MarkerNotFound. */
  marker?: string;
}

export class MigrationMarkerNotFound extends Error {}

type Row = Omit<MigrationsTable, 'id' | 'hidden'> & { id: number; hidden: number };

function toRecord(row: Row): MigrationRecord {
  return {
    ...row,
    migration_type: row.migration_type as MigrationType,
    old_flavor: JSON.parse(row.old_flavor) as Flavor,
    new_flavor: JSON.parse(row.new_flavor) as Flavor,
    hidden: row.hidden === 1,
  };
}

const ORDER: readonly SortKey<'created_at' | 'id'>[] = [
  { column: 'created_at', direction: 'desc', nullable: false },
  { column: 'id', direction: 'desc', nullable: false },
];

export async function listMigrations(
  db: Db,
  filter: MigrationFilter,
  page: MigrationPage = {},
): Promise<MigrationRecord[]> {
  let query = db.selectFrom('migrations').selectAll();
  const f = filter;
  if (f.instanceUuid !== undefined) query = query.where('instance_uuid', '=', f.instanceUuid);
  if (f.host !== undefined) {
    const host = f.host;
    query = query.where((eb) => eb.or([eb('source_compute', '=', host), eb('dest_compute', '=', host)]));
  }
  if (f.sourceCompute !== undefined) query = query.where('source_compute', '=', f.sourceCompute);
  if (f.status !== undefined) query = query.where('status', '=', f.status);
  if (f.statuses !== undefined) {
    if (!f.statuses.length) return [];
    query = query.where('status', 'in', [...f.statuses]);
  }
  if (f.migrationType !== undefined) query = query.where('migration_type', '=', f.migrationType);
  if (f.userId !== undefined) query = query.where('user_id', '=', f.userId);
  if (f.projectId !== undefined) query = query.where('project_id', '=', f.projectId);
  // Nova compares updated_at; a row never updated counts from its creation.
  const changed = sql<string>`coalesce(updated_at, created_at)`;
  if (f.changesSince !== undefined) query = query.where(changed, '>=', f.changesSince);
  if (f.changesBefore !== undefined) query = query.where(changed, '<=', f.changesBefore);
  if (page.marker !== undefined) {
    const marker = await db
      .selectFrom('migrations')
      .select(['created_at', 'id'])
      .where('uuid', '=', page.marker)
      .executeTakeFirst();
    if (!marker) throw new MigrationMarkerNotFound(page.marker);
    query = query.where((eb) => afterMarker(eb, ORDER, marker));
  }
  for (const [term, direction] of orderTerms(ORDER)) query = query.orderBy(term, direction);
  if (page.limit !== undefined) query = query.limit(page.limit);
  return (await query.execute()).map(toRecord);
}

export interface NewMigration {
  instance_uuid: string;
  migration_type: MigrationType;
  source_compute: string;
  source_node: string | null;
  old_flavor: Flavor;
  new_flavor: Flavor;
  user_id: string;
  project_id: string;
  /** pre-migrating unless told (an evacuation starts accepted). */
  status?: string;
  /** The destination, when the request names it (an evacuation to a given host). */
  dest_compute?: string | null;
}

export async function createMigration(db: Db, input: NewMigration): Promise<MigrationRecord> {
  const uuid = randomUUID();
  await db
    .insertInto('migrations')
    .values({
      uuid,
      instance_uuid: input.instance_uuid,
      migration_type: input.migration_type,
      status: input.status ?? MigrationStatus.PRE_MIGRATING,
      source_compute: input.source_compute,
      source_node: input.source_node,
      dest_compute: input.dest_compute ?? null,
      dest_node: null,
      dest_host: null,
      old_instance_type_id: input.old_flavor.id,
      new_instance_type_id: input.new_flavor.id,
      old_flavor: JSON.stringify(input.old_flavor),
      new_flavor: JSON.stringify(input.new_flavor),
      peak_vcpus: Math.max(input.old_flavor.vcpus, input.new_flavor.vcpus),
      peak_memory_mb: Math.max(input.old_flavor.memory_mb, input.new_flavor.memory_mb),
      user_id: input.user_id,
      project_id: input.project_id,
      created_at: now(),
      updated_at: null,
    })
    .execute();
  return getMigration(db, uuid);
}

export async function findMigration(db: Db, uuid: string): Promise<MigrationRecord | null> {
  const row = await db.selectFrom('migrations').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  return row ? toRecord(row) : null;
}

export async function getMigration(db: Db, uuid: string): Promise<MigrationRecord> {
  const found = await findMigration(db, uuid);
  if (!found) throw new NotFound(`Migration ${uuid} could not be found.`);
  return found;
}

/** The server's newest move in `status` (Nova's get_by_instance_and_status), or null. */
export async function migrationOfInstance(
  db: Db,
  instanceUuid: string,
  status: string,
): Promise<MigrationRecord | null> {
  const [found] = await listMigrations(db, { instanceUuid, status }, { limit: 1 });
  return found ?? null;
}

export type MigrationChanges = Partial<Pick<MigrationsTable, 'status' | 'dest_compute' | 'dest_node' | 'dest_host'>>;

/**
 * Applies `changes` if the migration is in one of `expected` (any status when absent); true if it was.
 * The guard is what makes each step of a move happen once.
 */
export async function updateMigration(
  db: Db,
  uuid: string,
  changes: MigrationChanges,
  expected?: readonly string[],
): Promise<boolean> {
  let query = db
    .updateTable('migrations')
    .set({ ...changes, updated_at: now() })
    .where('uuid', '=', uuid);
  if (expected) query = query.where('status', 'in', [...expected]);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** A live migration's transfer figures, as its source reports them while it runs. */
export type MigrationProgress = Pick<
  MigrationsTable,
  'memory_total' | 'memory_processed' | 'memory_remaining' | 'disk_total' | 'disk_processed' | 'disk_remaining'
>;

/** Records a running live migration's progress (only while it runs: a late report changes nothing). */
export async function recordMigrationProgress(db: Db, uuid: string, progress: MigrationProgress): Promise<void> {
  await db
    .updateTable('migrations')
    .set({ ...progress, updated_at: now() })
    .where('uuid', '=', uuid)
    .where('status', 'in', [MigrationStatus.RUNNING, MigrationStatus.POST_MIGRATING])
    .execute();
}

/**
 * Migrations whose resize waits for confirmation on `destHost` since before `finishedBefore`
 * (Nova's get_unconfirmed_by_dest_compute): `resize_confirm_window` confirms them.
 */
export async function unconfirmedMigrations(
  db: Db,
  destHost: string,
  finishedBefore: string,
): Promise<MigrationRecord[]> {
  const rows = await db
    .selectFrom('migrations')
    .selectAll()
    .where('dest_compute', '=', destHost)
    .where('status', '=', MigrationStatus.FINISHED)
    .where(sql<string>`coalesce(updated_at, created_at)`, '<', finishedBefore)
    .execute();
  return rows.map(toRecord);
}
