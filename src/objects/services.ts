/**
 * The services table: every running service registers here and reports a heartbeat every
 * `report_interval`. A service is up while its last report is younger than `service_down_time` and it is
 * not forced down (Nova's database servicegroup driver).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../common/db/database.ts';
import { now, type ServicesTable } from '../common/db/schema.ts';
import { NotFound } from '../common/errors.ts';
import type { ServiceBinary } from '../wire/messages/service-binaries.ts';
import { SERVICE_VERSION } from '../wire/service-versions.ts';

export type ServiceRecord = Omit<ServicesTable, 'id'> & { id: number };

export { SERVICE_BINARIES, type ServiceBinary } from '../wire/messages/service-binaries.ts';

/**
 * Registers the service (or finds its row from an earlier run) and records a first heartbeat and the
 * service version of its release (`version`: this one's unless it reports another, as compute hosts do).
 * `onCreated` is told of a row this call inserted (Nova's service.create notification).
 */
export async function registerService(
  db: Db,
  host: string,
  binary: ServiceBinary,
  topic: string,
  version: number = SERVICE_VERSION,
  onCreated?: (service: ServiceRecord) => void,
): Promise<ServiceRecord> {
  const timestamp = now();
  const existing = await db
    .selectFrom('services')
    .selectAll()
    .where('host', '=', host)
    .where('binary', '=', binary)
    .executeTakeFirst();
  if (existing) {
    await db
      .updateTable('services')
      .set({ last_seen_up: timestamp, updated_at: timestamp, topic, version })
      .where('id', '=', existing.id)
      .execute();
  } else {
    let inserted = false;
    try {
      await db
        .insertInto('services')
        .values({
          uuid: randomUUID(),
          host,
          binary,
          topic,
          report_count: 0,
          disabled: 0,
          disabled_reason: null,
          forced_down: 0,
          version,
          last_seen_up: timestamp,
          created_at: timestamp,
          updated_at: timestamp,
        })
        .execute();
      inserted = true;
    } catch (err) {
      // Two processes of the same host and binary starting at once: the other one inserted first.
      const again = await db
        .selectFrom('services')
        .select('id')
        .where('host', '=', host)
        .where('binary', '=', binary)
        .executeTakeFirst();
      if (!again) throw err;
    }
    if (inserted) {
      const service = await getService(db, host, binary);
      onCreated?.(service);
      return service;
    }
  }
  return getService(db, host, binary);
}

export async function getService(db: Db, host: string, binary: string): Promise<ServiceRecord> {
  const row = await db
    .selectFrom('services')
    .selectAll()
    .where('host', '=', host)
    .where('binary', '=', binary)
    .executeTakeFirst();
  if (!row) throw new NotFound(`Service ${binary} on host ${host} could not be found.`);
  return row;
}

/** `version`: the service version the service reports, recorded with the heartbeat (an upgrade changes it). */
export async function recordHeartbeat(
  db: Db,
  host: string,
  binary: string,
  version: number = SERVICE_VERSION,
): Promise<void> {
  const timestamp = now();
  const result = await db
    .updateTable('services')
    .set((eb) => ({
      report_count: eb('report_count', '+', 1),
      last_seen_up: timestamp,
      updated_at: timestamp,
      version,
    }))
    .where('host', '=', host)
    .where('binary', '=', binary)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) {
    throw new NotFound(`Service ${binary} on host ${host} is not registered (was it deleted?)`);
  }
}

export function isServiceUp(
  service: Pick<ServiceRecord, 'forced_down' | 'last_seen_up'>,
  serviceDownTimeSec: number,
  at = Date.now(),
): boolean {
  if (service.forced_down) return false;
  if (!service.last_seen_up) return false;
  return heartbeatRecent(Date.parse(service.last_seen_up), serviceDownTimeSec, at);
}

/** Whether a heartbeat at `lastSeenMs` (NaN: none yet) is recent enough for the service to count as up. */
export function heartbeatRecent(lastSeenMs: number, serviceDownTimeSec: number, at: number): boolean {
  return at - lastSeenMs <= serviceDownTimeSec * 1000;
}

export interface ServiceFilter {
  host?: string;
  binary?: string;
}

export async function listServices(db: Db, filter: ServiceFilter = {}): Promise<ServiceRecord[]> {
  let query = db.selectFrom('services').selectAll();
  if (filter.host) query = query.where('host', '=', filter.host);
  if (filter.binary) query = query.where('binary', '=', filter.binary);
  return query.orderBy('id').execute();
}

export async function findServiceById(db: Db, id: string): Promise<ServiceRecord | null> {
  const byUuid = await db.selectFrom('services').selectAll().where('uuid', '=', id).executeTakeFirst();
  if (byUuid) return byUuid;
  if (!/^\d+$/.test(id)) return null;
  return (await db.selectFrom('services').selectAll().where('id', '=', Number(id)).executeTakeFirst()) ?? null;
}

export async function updateService(
  db: Db,
  id: number,
  changes: Partial<Pick<ServicesTable, 'disabled' | 'disabled_reason' | 'forced_down'>>,
): Promise<ServiceRecord> {
  await db
    .updateTable('services')
    .set({ ...changes, updated_at: now() })
    .where('id', '=', id)
    .execute();
  const row = await db.selectFrom('services').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound(`Service ${id} could not be found.`);
  return row;
}

export async function deleteService(db: Db, id: number): Promise<void> {
  await db.deleteFrom('services').where('id', '=', id).execute();
}

/** The lowest service version among the registered services of `binary` (null: none), for `auto` upgrade levels. */
export async function lowestServiceVersion(db: Db, binary: string): Promise<number | null> {
  const row = await db
    .selectFrom('services')
    .select((eb) => eb.fn.min<number>('version').as('lowest'))
    .where('binary', '=', binary)
    .executeTakeFirst();
  return row?.lowest === null || row?.lowest === undefined ? null : Number(row.lowest);
}
