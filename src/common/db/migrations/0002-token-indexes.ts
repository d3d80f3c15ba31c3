/** Indexes for revoking every token of a user or a project, which otherwise scans the tokens table. */
import type { MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema.createIndex('tokens_user_idx').on('tokens').column('user_id').execute();
  await db.schema.createIndex('tokens_project_idx').on('tokens').column('project_id').execute();
}
