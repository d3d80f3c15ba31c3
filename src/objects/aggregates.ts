/**
 * Host aggregates: named groups of compute hosts with key/value metadata. The `availability_zone` key
 * makes the aggregate's hosts an availability zone; a host outside every such aggregate is in
 * `[DEFAULT] default_availability_zone`. As in Nova, a host is never in two different zones: adding a
 * host, renaming an aggregate's zone and setting its metadata are refused when they would break that,
 * or when they would move servers already on a host to another zone.
 *
 * Besides the admin API's operations this module has the read side the scheduler filters use:
 * `aggregatesByHost` (every host's aggregates in two queries) and `zoneOfHost`/`availabilityZoneOfHost`.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { now, type Schema } from '../common/db/schema.ts';
import { conflictOnDuplicate } from '../common/db/unique.ts';
import { Conflict, NotFound, StratusError, declareError } from '../common/errors.ts';

export const AZ_KEY = 'availability_zone';

/** An aggregate change Nova refuses (InvalidAggregateAction); the API answers 400 or 409 per action. */
export const InvalidAggregateAction = declareError(
  class InvalidAggregateAction extends StratusError {
    override readonly status = 400;
  },
);

export interface Aggregate {
  readonly id: number;
  readonly uuid: string;
  readonly name: string;
  readonly created_at: string;
  readonly updated_at: string | null;
  /** Host names, in the order they were added. */
  readonly hosts: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** The `availability_zone` metadata, or null. */
  readonly availability_zone: string | null;
}

/** What the scheduler needs of each aggregate a host is in. */
export interface HostAggregate {
  readonly id: number;
  readonly uuid: string;
  readonly name: string;
  readonly metadata: Readonly<Record<string, string>>;
}

type Executor = Db | Transaction<Schema>;

async function metadataOf(db: Executor, ids: number[]): Promise<Map<number, Record<string, string>>> {
  const metadata = new Map<number, Record<string, string>>(ids.map((id) => [id, {}]));
  if (!ids.length) return metadata;
  const rows = await db
    .selectFrom('aggregate_metadata')
    .select(['aggregate_id', 'key', 'value'])
    .where('aggregate_id', 'in', ids)
    .execute();
  for (const row of rows) metadata.get(row.aggregate_id)![row.key] = row.value;
  return metadata;
}

async function detailsOf(
  db: Executor,
  ids: number[],
): Promise<{ hosts: Map<number, string[]>; metadata: Map<number, Record<string, string>> }> {
  const hosts = new Map<number, string[]>(ids.map((id) => [id, []]));
  if (ids.length) {
    const hostRows = await db
      .selectFrom('aggregate_hosts')
      .select(['aggregate_id', 'host'])
      .where('aggregate_id', 'in', ids)
      .orderBy('id')
      .execute();
    for (const row of hostRows) hosts.get(row.aggregate_id)!.push(row.host);
  }
  return { hosts, metadata: await metadataOf(db, ids) };
}

async function loadAggregates(db: Executor, ids?: number[]): Promise<Aggregate[]> {
  let query = db.selectFrom('aggregates').selectAll().orderBy('id');
  if (ids) {
    if (!ids.length) return [];
    query = query.where('id', 'in', ids);
  }
  const rows = await query.execute();
  const { hosts, metadata } = await detailsOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) => {
    const meta = metadata.get(row.id) ?? {};
    return { ...row, hosts: hosts.get(row.id) ?? [], metadata: meta, availability_zone: meta[AZ_KEY] ?? null };
  });
}

export async function listAggregates(db: Db): Promise<Aggregate[]> {
  return loadAggregates(db);
}

export async function getAggregate(db: Executor, id: number): Promise<Aggregate> {
  const [aggregate] = await loadAggregates(db, [id]);
  if (!aggregate) throw new NotFound(`Aggregate ${id} could not be found.`);
  return aggregate;
}

export async function getAggregateByUuid(db: Db, uuid: string): Promise<Aggregate> {
  const row = await db.selectFrom('aggregates').select('id').where('uuid', '=', uuid).executeTakeFirst();
  if (!row) throw new NotFound(`Aggregate ${uuid} could not be found.`);
  return getAggregate(db, row.id);
}

const nameExists = (name: string) => `Aggregate ${name} already exists.`;

/** `uuid`: one the caller chose beforehand (Nova's create.start notification already names it). */
export async function createAggregate(
  db: Db,
  name: string,
  availabilityZone: string | null = null,
  uuid: string = randomUUID(),
): Promise<Aggregate> {
  const clash = await db.selectFrom('aggregates').select('id').where('name', '=', name).executeTakeFirst();
  if (clash) throw new Conflict(nameExists(name));
  const id = await conflictOnDuplicate(
    () =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('aggregates').values({ uuid, name, created_at: now(), updated_at: null }).execute();
        const row = await trx.selectFrom('aggregates').select('id').where('name', '=', name).executeTakeFirstOrThrow();
        if (availabilityZone) {
          await trx
            .insertInto('aggregate_metadata')
            .values({ aggregate_id: row.id, key: AZ_KEY, value: availabilityZone })
            .execute();
        }
        return row.id;
      }),
    nameExists(name),
  );
  return getAggregate(db, id);
}

/** Renames the aggregate and/or moves it to another zone (null or '' for the zone is refused, as in Nova). */
export async function updateAggregate(
  db: Db,
  id: number,
  changes: { name?: string; availability_zone?: string | null },
): Promise<Aggregate> {
  return db.transaction().execute(async (trx) => {
    const aggregate = await getAggregate(trx, id);
    if (changes.name !== undefined && changes.name !== aggregate.name) {
      const clash = await trx.selectFrom('aggregates').select('id').where('name', '=', changes.name).executeTakeFirst();
      if (clash) throw new Conflict(nameExists(changes.name));
    }
    if (changes.availability_zone !== undefined) {
      await checkZoneChange(trx, aggregate, changes.availability_zone, 'Cannot update aggregate');
      await writeMetadata(trx, id, { [AZ_KEY]: changes.availability_zone });
    }
    await conflictOnDuplicate(
      () =>
        trx
          .updateTable('aggregates')
          .set({ ...(changes.name !== undefined ? { name: changes.name } : {}), updated_at: now() })
          .where('id', '=', id)
          .execute(),
      nameExists(changes.name ?? aggregate.name),
    );
    return getAggregate(trx, id);
  });
}

/** Deletes an aggregate that has no hosts left (Nova refuses the others). */
export async function deleteAggregate(db: Db, id: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const aggregate = await getAggregate(trx, id);
    if (aggregate.hosts.length) {
      throw new InvalidAggregateAction(`Cannot remove host from aggregate ${id}. Reason: Host aggregate is not empty.`);
    }
    await trx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', id).execute();
    await trx.deleteFrom('aggregates').where('id', '=', id).execute();
  });
}

/**
 * Sets metadata keys; a null value removes its key. A new `availability_zone` must not put a host of
 * the aggregate in two zones, nor move servers already on its hosts.
 */
export async function setAggregateMetadata(
  db: Db,
  id: number,
  metadata: Readonly<Record<string, string | null>>,
): Promise<Aggregate> {
  return db.transaction().execute(async (trx) => {
    const aggregate = await getAggregate(trx, id);
    if (AZ_KEY in metadata) {
      await checkZoneChange(trx, aggregate, metadata[AZ_KEY] ?? null, 'Cannot update metadata of aggregate');
    }
    await writeMetadata(trx, id, metadata);
    await trx.updateTable('aggregates').set({ updated_at: now() }).where('id', '=', id).execute();
    return getAggregate(trx, id);
  });
}

async function writeMetadata(trx: Executor, id: number, metadata: Readonly<Record<string, string | null>>) {
  for (const [key, value] of Object.entries(metadata)) {
    await trx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', id).where('key', '=', key).execute();
    if (value !== null) await trx.insertInto('aggregate_metadata').values({ aggregate_id: id, key, value }).execute();
  }
}

/** Nova's is_safe_to_update_az for a new zone name of an aggregate's hosts. */
async function checkZoneChange(trx: Executor, aggregate: Aggregate, zone: string | null, action: string) {
  const refuse = (reason: string) => new InvalidAggregateAction(`${action} ${aggregate.id}. Reason: ${reason}.`);
  if (!zone) throw refuse(`Aggregate ${aggregate.name} does not support empty named availability zone`);
  const others = await otherZonesOf(trx, aggregate.hosts, aggregate.id);
  const conflicting = [...new Set(others.map((o) => o.zone))].filter((z) => z !== zone);
  if (conflicting.length) throw refuse(`One or more hosts already in availability zone(s) ${pyList(conflicting)}`);
  if (zone !== aggregate.availability_zone && (await countInstancesOn(trx, aggregate.hosts)) > 0) {
    throw refuse('One or more hosts contain instances in this zone');
  }
}

/**
 * Adds a compute host (the caller checks that it is one). Refused when the aggregate's zone differs from
 * one the host is already in, or would move the servers already on the host to another zone.
 */
export async function addAggregateHost(db: Db, id: number, host: string): Promise<Aggregate> {
  return db.transaction().execute(async (trx) => {
    const aggregate = await getAggregate(trx, id);
    const refuse = (reason: string) =>
      new InvalidAggregateAction(`Cannot add host to aggregate ${id}. Reason: ${reason}.`);
    const newZone = aggregate.availability_zone;
    const current = await otherZonesOf(trx, [host], id);
    if (newZone !== null) {
      const conflicting = [...new Set(current.map((c) => c.zone))].filter((z) => z !== newZone);
      if (conflicting.length) throw refuse(`One or more hosts already in availability zone(s) ${pyList(conflicting)}`);
      const instances = await countInstancesOn(trx, [host]);
      const oldZone = current[0]?.zone ?? null;
      if (instances > 0 && oldZone !== newZone) throw refuse(zoneMoveReason('added to', oldZone, newZone, instances));
    }
    if (aggregate.hosts.includes(host)) throw new Conflict(`Aggregate ${id} already has host ${host}.`);
    await conflictOnDuplicate(
      () => trx.insertInto('aggregate_hosts').values({ aggregate_id: id, host }).execute(),
      `Aggregate ${id} already has host ${host}.`,
    );
    return getAggregate(trx, id);
  });
}

/** Removes a host; refused when that would move the servers on it to another zone. */
export async function removeAggregateHost(db: Db, id: number, host: string): Promise<Aggregate> {
  return db.transaction().execute(async (trx) => {
    const aggregate = await getAggregate(trx, id);
    if (!aggregate.hosts.includes(host)) throw new NotFound(`Aggregate ${id} has no host ${host}.`);
    const oldZone = aggregate.availability_zone;
    if (oldZone !== null) {
      const newZone = (await otherZonesOf(trx, [host], id))[0]?.zone ?? null;
      const instances = await countInstancesOn(trx, [host]);
      if (instances > 0 && newZone !== oldZone) {
        throw new InvalidAggregateAction(
          `Cannot remove host from aggregate ${id}. Reason: ${zoneMoveReason('removed from', oldZone, newZone, instances)}.`,
        );
      }
    }
    await trx.deleteFrom('aggregate_hosts').where('aggregate_id', '=', id).where('host', '=', host).execute();
    return getAggregate(trx, id);
  });
}

/** Drops a host from every aggregate: for a compute service being deleted (as Nova does). */
export async function removeHostFromAllAggregates(db: Db, host: string): Promise<void> {
  await db.deleteFrom('aggregate_hosts').where('host', '=', host).execute();
}

function zoneMoveReason(how: string, from: string | null, to: string | null, instances: number): string {
  return (
    `The host cannot be ${how} the aggregate as the availability zone of the host would change from ` +
    `'${from ?? 'None'}' to '${to ?? 'None'}' but the host already has ${instances} instance(s). Changing the ` +
    'AZ of an existing instance is not supported by this action. Move the instances away from this host then try again'
  );
}

/** Python's repr of a list of strings, as Nova's messages show zone lists: `['az1', 'az2']`. */
function pyList(values: readonly string[]): string {
  return `[${values.map((v) => `'${v}'`).join(', ')}]`;
}

/** The zones `hosts` are in through aggregates other than `exceptId`. */
async function otherZonesOf(
  db: Executor,
  hosts: readonly string[],
  exceptId: number,
): Promise<{ host: string; zone: string }[]> {
  if (!hosts.length) return [];
  return db
    .selectFrom('aggregate_hosts as h')
    .innerJoin('aggregate_metadata as m', 'm.aggregate_id', 'h.aggregate_id')
    .select(['h.host as host', 'm.value as zone'])
    .where('m.key', '=', AZ_KEY)
    .where('h.host', 'in', [...hosts])
    .where('h.aggregate_id', '!=', exceptId)
    .orderBy('h.aggregate_id')
    .execute();
}

async function countInstancesOn(db: Executor, hosts: readonly string[]): Promise<number> {
  if (!hosts.length) return 0;
  const row = await db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('host', 'in', [...hosts])
    .where('deleted', '=', 0)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Every host's aggregates, with their metadata, in two queries: `hosts` limits it to those hosts (a host in
 * no aggregate is absent from the map). For the scheduler's aggregate filters and zone lookups.
 */
export async function aggregatesByHost(db: Db, hosts?: readonly string[]): Promise<Map<string, HostAggregate[]>> {
  const result = new Map<string, HostAggregate[]>();
  if (hosts && !hosts.length) return result;
  let query = db
    .selectFrom('aggregate_hosts as h')
    .innerJoin('aggregates as a', 'a.id', 'h.aggregate_id')
    .select(['h.host as host', 'a.id as id', 'a.uuid as uuid', 'a.name as name'])
    .orderBy('a.id');
  if (hosts) query = query.where('h.host', 'in', [...hosts]);
  const rows = await query.execute();
  const ids = [...new Set(rows.map((r) => r.id))];
  // The join above has the hosts already: only the metadata is left to read.
  const metadata = await metadataOf(db, ids);
  const byId = new Map<number, HostAggregate>();
  for (const row of rows) {
    let aggregate = byId.get(row.id);
    if (!aggregate) {
      aggregate = { id: row.id, uuid: row.uuid, name: row.name, metadata: metadata.get(row.id) ?? {} };
      byId.set(row.id, aggregate);
    }
    const list = result.get(row.host) ?? [];
    list.push(aggregate);
    result.set(row.host, list);
  }
  return result;
}

/**
 * A host's zone from its aggregates (as `aggregatesByHost` gives them): the `availability_zone` of one
 * of them, else `defaultZone` (`[DEFAULT] default_availability_zone`).
 */
export function zoneOfHost(aggregates: readonly HostAggregate[] | undefined, defaultZone: string): string {
  for (const aggregate of aggregates ?? []) {
    const zone = aggregate.metadata[AZ_KEY];
    if (zone) return zone;
  }
  return defaultZone;
}

/** One host's availability zone (see zoneOfHost). */
export async function availabilityZoneOfHost(db: Db, host: string, defaultZone: string): Promise<string> {
  return zoneOfHost((await aggregatesByHost(db, [host])).get(host), defaultZone);
}

/** The zone of each of `hosts`. */
export async function availabilityZonesOfHosts(
  db: Db,
  hosts: readonly string[],
  defaultZone: string,
): Promise<Map<string, string>> {
  const aggregates = await aggregatesByHost(db, hosts);
  return new Map(hosts.map((host) => [host, zoneOfHost(aggregates.get(host), defaultZone)]));
}
