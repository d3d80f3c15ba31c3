/** Users and their password hashes. */
import type { Selectable, Updateable } from 'kysely';
import type { Db } from '../../../common/db/database.ts';
import { now, type UsersTable } from '../../../common/db/schema.ts';

export type UserRow = Selectable<UsersTable>;

export interface NewUser {
  id: string;
  name: string;
  domain_id: string;
  password_hash: string | null;
  enabled: boolean;
  email: string | null;
  description: string | null;
  default_project_id: string | null;
}

export function getUser(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findUserByName(db: Db, domainId: string, name: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('domain_id', '=', domainId)
    .where('name', '=', name)
    .executeTakeFirst();
}

export function listUsers(db: Db, filter: { name?: string; domainId?: string; enabled?: boolean }): Promise<UserRow[]> {
  let query = db.selectFrom('users').selectAll();
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  if (filter.domainId !== undefined) query = query.where('domain_id', '=', filter.domainId);
  if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled ? 1 : 0);
  return query.orderBy('name').orderBy('id').execute();
}

export async function insertUser(db: Db, fields: NewUser): Promise<UserRow> {
  const row: UserRow = { ...fields, enabled: fields.enabled ? 1 : 0, created_at: now() };
  await db.insertInto('users').values(row).execute();
  return row;
}

export async function updateUser(db: Db, id: string, changes: Updateable<UsersTable>): Promise<void> {
  if (Object.keys(changes).length) await db.updateTable('users').set(changes).where('id', '=', id).execute();
}

export async function deleteUser(db: Db, id: string): Promise<void> {
  await db.deleteFrom('users').where('id', '=', id).execute();
}
