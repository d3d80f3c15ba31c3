/** A compute API harness for the quota tests: Nova's default quotas, and projects the identity store knows. */
import { now } from '../../../src/common/db/schema.ts';
import { PROJECT_A, PROJECT_B, startComputeApi, type Harness } from './helpers.ts';

/** Nova's defaults, which the API harness otherwise lifts for servers, cores and ram. */
export const NOVA_DEFAULTS = { instances: '10', cores: '20', ram: '51200' };

export async function startWithProjects(quota: Record<string, string> = {}): Promise<Harness> {
  const h = await startComputeApi({ quota: { ...NOVA_DEFAULTS, ...quota } });
  // The quota APIs check that a project exists, as Nova asks Keystone; the identity store is this database.
  for (const id of [PROJECT_A, PROJECT_B]) {
    await h.database.db
      .insertInto('projects')
      .values({ id, name: id, domain_id: 'default', description: null, enabled: 1, parent_id: null, created_at: now() })
      .execute();
  }
  return h;
}
