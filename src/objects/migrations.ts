/**
 * Migrations (Nova's `migrations` table: one row per resize, cold or live migration and evacuation of a
 * server). Stratus does not move servers between hosts yet, so it has no such table and no migration
 * ever exists: `listMigrations` answers with none. Its filter and record are Nova's, so that the API
 * (src/api/compute/admin/migrations.ts), which already validates, pages and formats as Nova does, needs
 * no change when moves arrive: only this function's body, reading the table they add.
 */
import type { Db } from '../common/db/database.ts';

export type MigrationType = 'migration' | 'resize' | 'live-migration' | 'evacuation';

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
  user_id: string | null;
  project_id: string | null;
  hidden: boolean;
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

export async function listMigrations(
  _db: Db,
  _filter: MigrationFilter,
  page: MigrationPage = {},
): Promise<MigrationRecord[]> {
  // No table: no marker can name a migration, and there are none to list.
  if (page.marker !== undefined) throw new MigrationMarkerNotFound(page.marker);
  return [];
}
