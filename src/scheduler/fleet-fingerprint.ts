/**
 * What the rows an incremental reload of the scheduler's view does not read add up to: compute nodes,
 * compute services, resource providers (whose generation every inventory change bumps) and aggregates
 * with their hosts and metadata. A row count and the highest id change when rows are added or deleted
 * (ids are never reused, so a deletion and an addition do not cancel out), the sum of generations when
 * an inventory changes, the latest aggregate stamp when an aggregate or its metadata changes. Deleting
 * a compute node marks its row deleted and deletes its providers, which the providers' count shows. A
 * different fingerprint makes the reload a full one; these change seldom (a host added or deleted, an
 * operator's action), unlike usage, heartbeats and node reports. Aggregates computed by the database
 * over narrow rows or indexes: no row is sent.
 */
import type { Db } from '../common/db/database.ts';

export async function fleetFingerprint(db: Db): Promise<string> {
  const parts = await Promise.all([
    db
      .selectFrom('compute_nodes')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.max('id').as('last')])
      .executeTakeFirst(),
    db
      .selectFrom('services')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.max('id').as('last')])
      .where('binary', '=', 'stratus-compute')
      .executeTakeFirst(),
    db
      .selectFrom('resource_providers')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.max('id').as('last'), eb.fn.sum('generation').as('gens')])
      .executeTakeFirst(),
    db
      .selectFrom('aggregates')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.max('id').as('last'), eb.fn.max('updated_at').as('stamp')])
      .executeTakeFirst(),
    db
      .selectFrom('aggregate_hosts')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.max('id').as('last')])
      .executeTakeFirst(),
    db
      .selectFrom('aggregate_metadata')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.max('id').as('last')])
      .executeTakeFirst(),
  ]);
  // Engines differ in how they return counts and sums (number, string); one engine always alike.
  return JSON.stringify(parts);
}
