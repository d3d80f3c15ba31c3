/**
 * First-start set-up of a cloud: the identity bootstrap (default domain, admin user, project and role),
 * an `openrc` in the state directory for the `openstack` CLI, and, for all-in-one, the usual flavors.
 */
import { join } from 'node:path';
import { serviceUrl } from '../common/config/service-urls.ts';
import { bootstrapIdentity, writeOpenrc } from '../api/identity/bootstrap.ts';
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { createFlavor } from '../objects/flavors.ts';

export interface BootstrapOptions {
  password?: string | undefined;
  adminUser?: string;
  adminProject?: string;
  adminRole?: string;
}

export async function bootstrapCloud(
  database: Database,
  config: Config,
  options: BootstrapOptions = {},
): Promise<{ openrcPath: string; generated: boolean }> {
  const adminUser = options.adminUser ?? 'admin';
  const adminProject = options.adminProject ?? 'admin';
  const result = await bootstrapIdentity(database, config, {
    ...(options.password ? { password: options.password } : {}),
    adminUser,
    adminProject,
    adminRole: options.adminRole ?? 'admin',
  });
  const openrcPath = join(config.DEFAULT.state_path, 'openrc');
  if (result.password !== null) {
    await writeOpenrc(openrcPath, {
      authUrl: serviceUrl(config, 'identity'),
      username: adminUser,
      password: result.password,
      projectName: adminProject,
      region: config.identity.region_name,
    });
  }
  return { openrcPath, generated: result.generated };
}

/** The flavors devstack creates, so a new all-in-one cloud can boot servers at once. */
const DEFAULT_FLAVORS = [
  { flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1 },
  { flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20 },
  { flavorid: '3', name: 'm1.medium', vcpus: 2, memory_mb: 4096, root_gb: 40 },
  { flavorid: '4', name: 'm1.large', vcpus: 4, memory_mb: 8192, root_gb: 80 },
  { flavorid: '5', name: 'm1.xlarge', vcpus: 8, memory_mb: 16384, root_gb: 160 },
];

export async function createDefaultFlavorsIfNone(database: Database): Promise<boolean> {
  const any = await database.db.selectFrom('flavors').select('id').limit(1).executeTakeFirst();
  if (any) return false;
  for (const flavor of DEFAULT_FLAVORS) await createFlavor(database.db, flavor);
  return true;
}
