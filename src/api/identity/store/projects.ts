/** Projects: what tokens are scoped to and what owns compute and image resources. */
import type { Selectable, Updateable } from 'kysely';
import type { Db } from '../../../common/db/database.ts';
import { now, type ProjectsTable } from '../../../common/db/schema.ts';

export type ProjectRow = Selectable<ProjectsTable>;

export interface ProjectFilter {
  name?: string;
  domainId?: string;
  enabled?: boolean;
  parentId?: string;
  ids?: readonly string[];
}

export function getProject(db: Db, id: string): Promise<ProjectRow | undefined> {
  return db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findProjectByName(db: Db, domainId: string, name: string): Promise<ProjectRow | undefined> {
  return db
    .selectFrom('projects')
    .selectAll()
    .where('domain_id', '=', domainId)
    .where('name', '=', name)
    .executeTakeFirst();
}

export function listProjects(db: Db, filter: ProjectFilter): Promise<ProjectRow[]> {
  if (filter.ids && filter.ids.length === 0) return Promise.resolve([]);
  let query = db.selectFrom('projects').selectAll();
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  if (filter.domainId !== undefined) query = query.where('domain_id', '=', filter.domainId);
  if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled ? 1 : 0);
  if (filter.parentId !== undefined) query = query.where('parent_id', '=', filter.parentId);
  if (filter.ids) query = query.where('id', 'in', [...filter.ids]);
  return query.orderBy('name').orderBy('id').execute();
}

export async function insertProject(
  db: Db,
  fields: {
    id: string;
    name: string;
    domain_id: string;
    description: string | null;
    enabled: boolean;
    parent_id: string | null;
  },
): Promise<ProjectRow> {
  const row: ProjectRow = { ...fields, enabled: fields.enabled ? 1 : 0, created_at: now() };
  await db.insertInto('projects').values(row).execute();
  return row;
}

export async function updateProject(db: Db, id: string, changes: Updateable<ProjectsTable>): Promise<void> {
  if (Object.keys(changes).length) await db.updateTable('projects').set(changes).where('id', '=', id).execute();
}

export async function hasChildProjects(db: Db, id: string): Promise<boolean> {
  const row = await db.selectFrom('projects').select('id').where('parent_id', '=', id).executeTakeFirst();
  return row !== undefined;
}

export async function deleteProject(db: Db, id: string): Promise<void> {
  await db.deleteFrom('projects').where('id', '=', id).execute();
}
