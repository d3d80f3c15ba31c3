/**
 * Seeds the catalog tables from configuration (`configuredCatalog`), the way `keystone-manage bootstrap`
 * creates the region, services and endpoints it is given. Only an EMPTY catalog (no service at all) is
 * seeded: once it holds anything, the database is the truth and configuration is not read again, so an
 * operator's edits through the API (a URL changed, an endpoint deleted, a region added) survive restarts,
 * which run the bootstrap again in all-in-one. Safe from several processes at once: everything is written
 * in one transaction, and the one that loses the race on the ids finds the catalog seeded.
 */
import type { Config } from '../../common/config/load-config.ts';
import type { Db } from '../../common/db/database.ts';
import { isUniqueViolation } from '../../common/db/unique.ts';
import { configuredCatalog } from './catalog.ts';
import { getRegion, insertCatalogService, insertEndpoint, insertRegion } from './store/catalog.ts';

/** True when this call wrote the catalog; false when one was there already. */
export async function seedCatalog(db: Db, config: Config): Promise<boolean> {
  if (await hasCatalog(db)) return false;
  const catalog = configuredCatalog(config);
  try {
    return await db.transaction().execute(async (trx) => {
      if (await hasCatalog(trx)) return false;
      const region = config.identity.region_name;
      if (!(await getRegion(trx, region))) {
        await insertRegion(trx, { id: region, description: '', parent_region_id: null, extra: {} });
      }
      for (const service of catalog) {
        await insertCatalogService(trx, {
          id: service.id,
          type: service.type,
          name: service.name,
          enabled: true,
          extra: {},
        });
        for (const e of service.endpoints) {
          await insertEndpoint(trx, {
            id: e.id,
            service_id: service.id,
            interface: e.interface,
            region_id: e.region_id,
            url: e.url,
            enabled: true,
            extra: {},
          });
        }
      }
      return true;
    });
  } catch (err) {
    // Another process seeded the same rows meanwhile.
    if (isUniqueViolation(err) && (await hasCatalog(db))) return false;
    throw err;
  }
}

async function hasCatalog(db: Db): Promise<boolean> {
  return (await db.selectFrom('catalog_services').select('id').limit(1).executeTakeFirst()) !== undefined;
}
