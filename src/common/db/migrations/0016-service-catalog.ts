/**
 * The service catalog as Keystone keeps it: regions (a tree by parent_region_id), services and their
 * endpoints. Until now the catalog was computed from configuration; bootstrap seeds these tables from the
 * same configuration (src/api/identity/catalog-seed.ts), and from then on the rows are the truth.
 * String ids as Keystone's: a region's is chosen by the operator (up to 255 characters), the others are
 * 32 hex digits. Attributes Keystone keeps in its `extra` column (a service's description, anything a
 * client adds) are JSON text here too.
 */
import type { Dialect } from '../connection-url.ts';
import { TEXT, TS, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('catalog_regions')
    .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('description', 'varchar(255)', (c) => c.notNull())
    .addColumn('parent_region_id', 'varchar(255)')
    .addColumn('extra', TEXT, (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('catalog_regions_parent_idx').on('catalog_regions').column('parent_region_id').execute();

  await db.schema
    .createTable('catalog_services')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('extra', TEXT, (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('catalog_endpoints')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('service_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('interface', 'varchar(8)', (c) => c.notNull())
    .addColumn('region_id', 'varchar(255)')
    .addColumn('url', TEXT, (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('extra', TEXT, (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('catalog_endpoints_service_idx').on('catalog_endpoints').column('service_id').execute();
  await db.schema.createIndex('catalog_endpoints_region_idx').on('catalog_endpoints').column('region_id').execute();
}
