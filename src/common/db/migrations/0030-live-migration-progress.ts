/**
 * Live migration progress (Nova's migrations.memory_* and disk_* columns): while a live migration runs,
 * its source host reports how much of the guest's memory and disks have been transferred, and
 * GET /servers/{id}/migrations shows the figures. Null until the first report (and on every other move).
 */
import { BIGINT, type MigrationDb } from './column-helpers.ts';

export const PROGRESS_COLUMNS = [
  'memory_total',
  'memory_processed',
  'memory_remaining',
  'disk_total',
  'disk_processed',
  'disk_remaining',
] as const;

export async function up(db: MigrationDb): Promise<void> {
  for (const column of PROGRESS_COLUMNS) {
    await db.schema.alterTable('migrations').addColumn(column, BIGINT).execute();
  }
}
