/**
 * What the compute host writes on a guest's config drive, resolved where the database is (the conductor
 * for a build, the API for a rebuild) and sent with the build: the metadata service's payload for the
 * instance, with the admin password, which Nova puts on a config drive and never serves over HTTP.
 */
import type { Config } from '../../common/config/load-config.ts';
import type { Db } from '../../common/db/database.ts';
import type { InstanceMetadata } from '../../wire/messages/instance-metadata.ts';
import { loadInstanceMetadata, metadataSettings } from './instance-metadata.ts';
import { loadStaticVendorData } from './vendor-data.ts';

/** Whether the instance has a config drive (the column holds 'True' or ''), without reading the whole row. */
export async function hasConfigDrive(db: Db, uuid: string): Promise<boolean> {
  const row = await db
    .selectFrom('instances')
    .select('config_drive')
    .where('uuid', '=', uuid)
    .where('deleted', '=', 0)
    .executeTakeFirst();
  return isConfigDrive(row?.config_drive);
}

/** Nova stores 'True' for a config drive; anything else that reads as true counts too (an operator's edit). */
export function isConfigDrive(column: string | null | undefined): boolean {
  return column !== undefined && column !== null && /^(true|1|yes|on)$/i.test(column.trim());
}

/**
 * The config drive's payload for instance `uuid`, or null when it has none (or is gone). `column`: its
 * config_drive as the caller read it already; without it, it is read.
 */
export async function configDriveMetadata(
  db: Db,
  config: Config,
  uuid: string,
  column?: string,
): Promise<InstanceMetadata | null> {
  if (!(column === undefined ? await hasConfigDrive(db, uuid) : isConfigDrive(column))) return null;
  const settings = metadataSettings(config, loadStaticVendorData(config));
  return loadInstanceMetadata(db, uuid, settings, { adminPass: true });
}
