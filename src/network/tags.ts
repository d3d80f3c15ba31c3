/**
 * Neutron's tags (the standard-attr-tag extension): short strings on networks, subnets, ports, routers,
 * floating IPs and security groups, kept in `network_tags` by the resource's uuid (uuids never repeat
 * across resource types). A change to a resource's tags bumps its revision, as in Neutron where tags are
 * part of the standard attributes. Who may see or change a resource is decided by the caller.
 */
import type { Db } from '../common/db/database.ts';
import { now } from '../common/db/schema.ts';
import { StratusError, declareError } from '../common/errors.ts';
import { invalidInput } from './errors.ts';
import { inTransaction } from './transaction.ts';

/** neutron_lib's MAX_TAG_LEN. */
export const MAX_TAG_LENGTH = 255;

/** The tables of the resources that carry tags. */
export type TaggedTable = 'networks' | 'subnets' | 'ports' | 'routers' | 'floating_ips' | 'security_groups';

export const TagNotFound = declareError(
  class TagNotFound extends StratusError {
    override readonly status = 404;
  },
);

/** Neutron's validate_tag: a string of at most 255 characters. */
export function checkTag(tag: unknown): string {
  if (typeof tag !== 'string') throw invalidInput(`'${String(tag)}' is not a valid string`);
  if (tag.length > MAX_TAG_LENGTH) {
    throw invalidInput(`'${tag}' exceeds maximum length of ${MAX_TAG_LENGTH}`);
  }
  return tag;
}

/**
 * Neutron's validate_list_of_unique_strings for tags: why `tags` is not a list of unique valid tags, or
 * null when it is.
 */
export function tagListProblem(tags: unknown): string | null {
  if (!Array.isArray(tags)) return `'${JSON.stringify(tags)}' is not a list`;
  // Duplicates first, then each item, as neutron-lib checks a list.
  const duplicates = tags.filter((t, i) => tags.indexOf(t) !== i);
  if (duplicates.length > 0) {
    return `Duplicate items in the list: '${[...new Set(duplicates)].map((d) => String(d)).join(', ')}'`;
  }
  for (const tag of tags) {
    if (typeof tag !== 'string') return `'${String(tag)}' is not a valid string`;
    if (tag.length > MAX_TAG_LENGTH) return `'${tag}' exceeds maximum length of ${MAX_TAG_LENGTH}`;
  }
  return null;
}

/** Neutron's validate_tags: `{"tags": [...]}`, a list of unique valid strings. */
export function checkTagsBody(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.hasOwn(body, 'tags')) {
    throw invalidInput('Invalid tags body');
  }
  const tags = (body as { tags: unknown }).tags;
  const problem = tagListProblem(tags);
  if (problem !== null) throw invalidInput(problem);
  return tags as string[];
}

/** Every resource's tags (sorted), one query; a resource without tags maps to []. */
export async function tagsOf(db: Db, ids: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('network_tags')
    .select(['resource_id', 'tag'])
    .where('resource_id', 'in', [...new Set(ids)])
    .orderBy('tag')
    .execute();
  for (const row of rows) out.get(row.resource_id)?.push(row.tag);
  return out;
}

async function bumpRevision(db: Db, table: TaggedTable, id: string): Promise<void> {
  // Each tagged table has the standard attributes; the union type defeats Kysely's column inference.
  await (db as Db)
    .updateTable(table as 'networks')
    .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: now() }))
    .where('id', '=', id)
    .execute();
}

/** PUT .../tags: the resource's tags become exactly `tags`. */
export async function replaceTags(db: Db, table: TaggedTable, id: string, tags: readonly string[]): Promise<string[]> {
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('network_tags').where('resource_id', '=', id).execute();
    await insertTags(trx, id, tags);
    await bumpRevision(trx, table, id);
  });
  return [...tags].sort();
}

/** The tags of a resource being made, in its creating transaction (a port's `tags` on create). */
export async function insertTags(trx: Db, id: string, tags: readonly string[]): Promise<void> {
  if (tags.length === 0) return;
  await trx
    .insertInto('network_tags')
    .values(tags.map((tag) => ({ resource_id: id, tag })))
    .execute();
}

/**
 * POST .../tags (Neutron's tag-creation): adds those of `tags` the resource lacks, keeping the others;
 * the revision moves only when one was added.
 */
export async function addTags(db: Db, table: TaggedTable, id: string, tags: readonly string[]): Promise<void> {
  await inTransaction(db, async (trx) => {
    const held = new Set((await tagsOf(trx, [id])).get(id));
    const added = tags.filter((t) => !held.has(t));
    if (added.length === 0) return;
    await insertTags(trx, id, added);
    await bumpRevision(trx, table, id);
  });
}

/** PUT .../tags/{tag}: adds one tag; adding a tag the resource has changes nothing. */
export async function addTag(db: Db, table: TaggedTable, id: string, tag: string): Promise<void> {
  await inTransaction(db, async (trx) => {
    if (await hasTag(trx, id, tag)) return;
    await trx.insertInto('network_tags').values({ resource_id: id, tag }).execute();
    await bumpRevision(trx, table, id);
  });
}

/** DELETE .../tags/{tag}: TagNotFound when the resource lacks it. */
export async function removeTag(db: Db, table: TaggedTable, id: string, tag: string, resource: string): Promise<void> {
  await inTransaction(db, async (trx) => {
    const gone = await trx
      .deleteFrom('network_tags')
      .where('resource_id', '=', id)
      .where('tag', '=', tag)
      .executeTakeFirst();
    if (Number(gone.numDeletedRows) === 0) throw tagNotFound(tag, resource, id);
    await bumpRevision(trx, table, id);
  });
}

/** GET .../tags/{tag}: TagNotFound when the resource lacks it. */
export async function checkHasTag(db: Db, id: string, tag: string, resource: string): Promise<void> {
  if (!(await hasTag(db, id, tag))) throw tagNotFound(tag, resource, id);
}

async function hasTag(db: Db, id: string, tag: string): Promise<boolean> {
  const row = await db
    .selectFrom('network_tags')
    .select('tag')
    .where('resource_id', '=', id)
    .where('tag', '=', tag)
    .executeTakeFirst();
  return row !== undefined;
}

function tagNotFound(tag: string, resource: string, id: string): StratusError {
  return new TagNotFound(`Tag ${tag} could not be found for ${resource} ${id}.`);
}
