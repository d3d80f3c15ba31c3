/**
 * Regions, services and endpoints of the service catalog (migration 0016). Rows carry Keystone's own
 * attributes as columns and whatever else a client sent in `extra`, as Keystone's sql backend does.
 */
import type { Selectable, Updateable } from 'kysely';
import type { Db } from '../../../common/db/database.ts';
import {
  now,
  type CatalogEndpointsTable,
  type CatalogRegionsTable,
  type CatalogServicesTable,
} from '../../../common/db/schema.ts';

export type RegionRow = Selectable<CatalogRegionsTable>;
export type CatalogServiceRow = Selectable<CatalogServicesTable>;
export type EndpointRow = Selectable<CatalogEndpointsTable>;
export type Extra = Record<string, unknown>;

export function parseExtra(text: string): Extra {
  const value: unknown = JSON.parse(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Extra) : {};
}

// Regions

export function getRegion(db: Db, id: string): Promise<RegionRow | undefined> {
  return db.selectFrom('catalog_regions').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listRegions(db: Db, filter: { parent_region_id?: string } = {}): Promise<RegionRow[]> {
  let query = db.selectFrom('catalog_regions').selectAll();
  if (filter.parent_region_id !== undefined) query = query.where('parent_region_id', '=', filter.parent_region_id);
  return query.orderBy('id').execute();
}

export async function insertRegion(
  db: Db,
  fields: { id: string; description: string; parent_region_id: string | null; extra: Extra },
): Promise<RegionRow> {
  const row: RegionRow = { ...fields, extra: JSON.stringify(fields.extra), created_at: now() };
  await db.insertInto('catalog_regions').values(row).execute();
  return row;
}

export async function updateRegion(db: Db, id: string, changes: Updateable<CatalogRegionsTable>): Promise<void> {
  await db.updateTable('catalog_regions').set(changes).where('id', '=', id).execute();
}

/** The region and every region below it (a hierarchy is kept free of cycles by the update's check). */
export function regionSubtree(regions: readonly RegionRow[], rootId: string): string[] {
  const children = new Map<string, string[]>();
  for (const r of regions) {
    if (r.parent_region_id === null) continue;
    children.set(r.parent_region_id, [...(children.get(r.parent_region_id) ?? []), r.id]);
  }
  const found = [rootId];
  for (let i = 0; i < found.length; i++) {
    for (const child of children.get(found[i]!) ?? []) if (!found.includes(child)) found.push(child);
  }
  return found;
}

/**
 * Deletes the region with the regions below it, as Keystone does, unless one of them holds an endpoint:
 * returns false then and deletes nothing. One transaction, so an endpoint created meanwhile in a child
 * region is either seen or created after the regions are gone (and then refused for its missing region).
 */
export async function deleteRegionTree(db: Db, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const ids = regionSubtree(await listRegions(trx), id);
    const used = await trx
      .selectFrom('catalog_endpoints')
      .select('id')
      .where('region_id', 'in', ids)
      .limit(1)
      .executeTakeFirst();
    if (used) return false;
    await trx.deleteFrom('catalog_regions').where('id', 'in', ids).execute();
    return true;
  });
}

// Services

export function getCatalogService(db: Db, id: string): Promise<CatalogServiceRow | undefined> {
  return db.selectFrom('catalog_services').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listCatalogServices(
  db: Db,
  filter: { type?: string; name?: string } = {},
): Promise<CatalogServiceRow[]> {
  let query = db.selectFrom('catalog_services').selectAll();
  if (filter.type !== undefined) query = query.where('type', '=', filter.type);
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  return query.orderBy('type').orderBy('id').execute();
}

export async function insertCatalogService(
  db: Db,
  fields: { id: string; type: string; name: string; enabled: boolean; extra: Extra },
): Promise<CatalogServiceRow> {
  const row: CatalogServiceRow = {
    ...fields,
    enabled: fields.enabled ? 1 : 0,
    extra: JSON.stringify(fields.extra),
    created_at: now(),
  };
  await db.insertInto('catalog_services').values(row).execute();
  return row;
}

export async function updateCatalogService(
  db: Db,
  id: string,
  changes: Updateable<CatalogServicesTable>,
): Promise<void> {
  await db.updateTable('catalog_services').set(changes).where('id', '=', id).execute();
}

/** A service goes with its endpoints, as in Keystone. */
export async function deleteCatalogService(db: Db, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('catalog_endpoints').where('service_id', '=', id).execute();
    await trx.deleteFrom('catalog_services').where('id', '=', id).execute();
  });
}

// Endpoints

export function getEndpoint(db: Db, id: string): Promise<EndpointRow | undefined> {
  return db.selectFrom('catalog_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface EndpointFilter {
  interface?: string;
  service_id?: string;
  region_id?: string;
}

export function listEndpoints(db: Db, filter: EndpointFilter = {}): Promise<EndpointRow[]> {
  let query = db.selectFrom('catalog_endpoints').selectAll();
  if (filter.interface !== undefined) query = query.where('interface', '=', filter.interface);
  if (filter.service_id !== undefined) query = query.where('service_id', '=', filter.service_id);
  if (filter.region_id !== undefined) query = query.where('region_id', '=', filter.region_id);
  return query.orderBy('service_id').orderBy('id').execute();
}

export async function insertEndpoint(
  db: Db,
  fields: {
    id: string;
    service_id: string;
    interface: string;
    region_id: string | null;
    url: string;
    enabled: boolean;
    extra: Extra;
  },
): Promise<EndpointRow> {
  const row: EndpointRow = {
    ...fields,
    enabled: fields.enabled ? 1 : 0,
    extra: JSON.stringify(fields.extra),
    created_at: now(),
  };
  await db.insertInto('catalog_endpoints').values(row).execute();
  return row;
}

export async function updateEndpoint(db: Db, id: string, changes: Updateable<CatalogEndpointsTable>): Promise<void> {
  await db.updateTable('catalog_endpoints').set(changes).where('id', '=', id).execute();
}

export async function deleteEndpoint(db: Db, id: string): Promise<void> {
  await db.deleteFrom('catalog_endpoints').where('id', '=', id).execute();
}
