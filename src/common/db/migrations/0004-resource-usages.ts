/**
 * Usage per provider and resource class, kept beside the allocations it sums. Claims and the scheduler
 * read one row per inventory instead of summing every allocation of a host on each request, which grew
 * with the number of instances; a claim locks these rows, so claims on one host queue instead of
 * colliding on the provider generation.
 */
import { sql } from 'kysely';
import type { MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('resource_usages')
    .addColumn('resource_provider_id', 'integer', (c) => c.notNull())
    .addColumn('resource_class', 'varchar(64)', (c) => c.notNull())
    .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('resource_usages_pk', ['resource_provider_id', 'resource_class'])
    .execute();
  // One row per inventory, holding what its allocations add up to; then the rare allocation whose
  // inventory was removed since, so the sums stay exact.
  await sql`
    insert into resource_usages (resource_provider_id, resource_class, used)
    select i.resource_provider_id, i.resource_class,
      coalesce((select sum(a.used) from allocations a
        where a.resource_provider_id = i.resource_provider_id and a.resource_class = i.resource_class), 0)
    from inventories i`.execute(db);
  await sql`
    insert into resource_usages (resource_provider_id, resource_class, used)
    select a.resource_provider_id, a.resource_class, sum(a.used) from allocations a
    where not exists (select 1 from inventories i
      where i.resource_provider_id = a.resource_provider_id and i.resource_class = a.resource_class)
    group by a.resource_provider_id, a.resource_class`.execute(db);
}
