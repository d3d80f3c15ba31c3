/** Instance rows for data-layer tests: a live instance of a fixed flavor, optionally placed on a host. */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/common/db/database.ts';
import { createFlavor, getFlavor, type Flavor } from '../../src/objects/flavors.ts';
import { insertInstance, markInstanceDeleted, updateInstance } from '../../src/objects/instances.ts';

async function testFlavor(db: Db): Promise<Flavor> {
  try {
    return await getFlavor(db, 'rows.tiny');
  } catch {
    return createFlavor(db, { flavorid: 'rows.tiny', name: 'rows.tiny', vcpus: 1, memory_mb: 512, root_gb: 1 });
  }
}

/** Inserts an instance and returns its uuid; `host` places it, `deleted` soft-deletes it afterwards. */
export async function insertTestInstance(
  db: Db,
  fields: { host?: string; project?: string; deleted?: boolean } = {},
): Promise<string> {
  const uuid = randomUUID();
  await insertInstance(db, {
    uuid,
    display_name: 'vm',
    display_description: null,
    hostname: 'vm',
    user_id: 'u1',
    project_id: fields.project ?? 'p1',
    image_ref: 'img',
    flavor: await testFlavor(db),
    availability_zone: null,
    key_name: null,
    config_drive: '',
    user_data: null,
    reservation_id: 'r-rows',
    launch_index: 0,
    access_ip_v4: null,
    access_ip_v6: null,
    metadata: {},
    storage_tier: 'hdd',
  });
  if (fields.host) await updateInstance(db, uuid, { host: fields.host, node: fields.host });
  if (fields.deleted) await markInstanceDeleted(db, uuid);
  return uuid;
}
