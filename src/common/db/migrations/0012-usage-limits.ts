/**
 * Each usage row carries the limits of its inventory: capacity ((total - reserved) * allocation_ratio,
 * rounded down), min_unit, max_unit and step_size. A claim is then one conditional UPDATE per request
 * that checks and adds in the same statement (placement/claims.ts), instead of locking the usage rows,
 * reading the inventories and writing back. NULL limits (a usage row left by a removed inventory) refuse
 * every claim. setInventories keeps them in step with the inventories, in the same transaction.
 */
import { sql } from 'kysely';
import type { Dialect } from '../connection-url.ts';
import type { MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  for (const column of ['capacity', 'min_unit', 'max_unit', 'step_size']) {
    await db.schema.alterTable('resource_usages').addColumn(column, 'integer').execute();
  }
  // PostgreSQL's real is single precision, and clients read it as its shortest decimal (0.9, not
  // 0.899999976): taken through that text, the product is the double the services compute from it
  // (placement/resource-classes.ts capacity()).
  const ratio =
    dialect === 'postgres' ? sql`cast(cast(i.allocation_ratio as text) as double precision)` : sql`i.allocation_ratio`;
  const of = (expression: ReturnType<typeof sql>) =>
    sql`(select ${expression} from inventories i
      where i.resource_provider_id = resource_usages.resource_provider_id
        and i.resource_class = resource_usages.resource_class)`;
  await sql`update resource_usages set
    capacity = ${of(sql`floor((i.total - i.reserved) * ${ratio})`)},
    min_unit = ${of(sql`i.min_unit`)},
    max_unit = ${of(sql`i.max_unit`)},
    step_size = ${of(sql`i.step_size`)}`.execute(db);
}
