/**
 * Fields that always travel are required on the wire (src/wire/messages/): rows written before a field
 * existed are mended here once, rather than by a fallback in every service that reads them.
 *
 * - instances.storage_tier (0005): instances created before storage tiers have none. Their disk is in the
 *   one pool their host had then, which the compute host's [storage] default_tier named, so they get the
 *   default tier of the configuration `db sync` runs with (`settings.defaultStorageTier`).
 * - request_specs.spec's storage_tier: the same, for the specs of those instances.
 *
 * Data only, no DDL: the column stays nullable in SQL, so services of the previous release, which always
 * write it, share the schema during a rolling upgrade (expand and contract: nothing is dropped).
 */
import { sql } from 'kysely';
import type { MigrationDb } from './column-helpers.ts';
import type { MigrationSettings } from './settings.ts';

/** Request specs rewritten per statement batch: bounded memory whatever the table's size. */
const BATCH = 500;

export async function up(db: MigrationDb, settings: MigrationSettings): Promise<void> {
  const tier = settings.defaultStorageTier;
  await db.updateTable('instances').set({ storage_tier: tier }).where('storage_tier', 'is', null).execute();
  // A spec's storage_tier is a key of its JSON text: specs that lack it are found by that text.
  let after = 0;
  for (;;) {
    const rows = (await db
      .selectFrom('request_specs')
      .select(['id', 'spec'])
      .where('id', '>', after)
      .where(sql<boolean>`spec not like ${'%"storage_tier"%'}`)
      .orderBy('id')
      .limit(BATCH)
      .execute()) as { id: number; spec: string }[];
    if (rows.length === 0) return;
    for (const row of rows) {
      const spec = JSON.parse(row.spec) as Record<string, unknown>;
      await db
        .updateTable('request_specs')
        .set({ spec: JSON.stringify({ ...spec, storage_tier: tier }) })
        .where('id', '=', row.id)
        .execute();
    }
    after = rows[rows.length - 1]!.id;
  }
}
