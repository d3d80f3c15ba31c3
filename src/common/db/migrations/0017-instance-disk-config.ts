/**
 * The disk config of each instance (Nova's auto_disk_config, shown as OS-DCF:diskConfig AUTO or MANUAL),
 * chosen at create and changeable by update. Existing rows are MANUAL (0): that is what the API showed
 * for every server before the column existed.
 */
import type { MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .alterTable('instances')
    .addColumn('auto_disk_config', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
