/** Domains: the top-level containers of users and projects. */
import type { Selectable, Updateable } from 'kysely';
import type { Db } from '../../../common/db/database.ts';
import { now, type DomainsTable } from '../../../common/db/schema.ts';

export type DomainRow = Selectable<DomainsTable>;

export const DEFAULT_DOMAIN_ID = 'default';

export function getDomain(db: Db, id: string): Promise<DomainRow | undefined> {
  return db.selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findDomainByName(db: Db, name: string): Promise<DomainRow | undefined> {
  return db.selectFrom('domains').selectAll().where('name', '=', name).executeTakeFirst();
}

export function listDomains(db: Db, filter: { name?: string; enabled?: boolean }): Promise<DomainRow[]> {
  let query = db.selectFrom('domains').selectAll();
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled ? 1 : 0);
  return query.orderBy('name').execute();
}

export async function insertDomain(
  db: Db,
  fields: { id: string; name: string; description: string | null; enabled: boolean },
): Promise<DomainRow> {
  const row: DomainRow = { ...fields, enabled: fields.enabled ? 1 : 0, created_at: now() };
  await db.insertInto('domains').values(row).execute();
  return row;
}

export async function updateDomain(db: Db, id: string, changes: Updateable<DomainsTable>): Promise<void> {
  if (Object.keys(changes).length) await db.updateTable('domains').set(changes).where('id', '=', id).execute();
}

export async function deleteDomain(db: Db, id: string): Promise<void> {
  await db.deleteFrom('domains').where('id', '=', id).execute();
}
