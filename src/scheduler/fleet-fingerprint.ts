/**
 * What the rows an incremental reload of the scheduler's view does not read add up to: compute nodes,
 * compute services, resource providers (whose generation every inventory change bumps) and aggregates
 * with their hosts and metadata. Counts and sums of ids change when a row is added or deleted (ids are
 * never reused), the sum of generations when an inventory changes, the latest aggregate stamp when an
 * aggregate or its metadata changes. A different fingerprint makes the next reload a full one; these
 * change seldom (a host added or deleted, an operator's action), unlike usage, heartbeats and reports.
 * A few aggregates over the tables, computed by the database: no row is sent.
 */
import type { Db } from '../common/db/database.ts';

export async function fleetFingerprint(db: Db): Promise<string> {
  const parts = await Promise.all([
    db
      .selectFrom('compute_nodes')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('id').as('ids')])
      .where('deleted_at', 'is', null)
      .executeTakeFirst(),
    db
      .selectFrom('services')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('id').as('ids')])
      .where('binary', '=', 'stratus-compute')
      .executeTakeFirst(),
    db
      .selectFrom('resource_providers')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('id').as('ids'), eb.fn.sum('generation').as('gens')])
      .executeTakeFirst(),
    db
      .selectFrom('aggregates')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('id').as('ids'), eb.fn.max('updated_at').as('stamp')])
      .executeTakeFirst(),
    db
      .selectFrom('aggregate_hosts')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('id').as('ids')])
      .executeTakeFirst(),
    db
      .selectFrom('aggregate_metadata')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('id').as('ids')])
      .executeTakeFirst(),
  ]);
  // Engines differ in how they return counts and sums (number, string); one engine always alike.
  return JSON.stringify(parts);
}
