/**
 * What a shelved server keeps (Nova's system_metadata shelved_image_id, shelved_at and shelved_host):
 * the image its disk was uploaded into, when it was shelved (the periodic offload counts from it) and
 * the host it was shelved on. Null on every other server, so existing rows need no filling.
 */
import { TS, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema.alterTable('instances').addColumn('shelved_image_id', 'varchar(36)').execute();
  await db.schema.alterTable('instances').addColumn('shelved_at', TS).execute();
  await db.schema.alterTable('instances').addColumn('shelved_host', 'varchar(255)').execute();
}
