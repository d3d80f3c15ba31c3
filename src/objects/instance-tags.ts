/**
 * Server tags (Nova's `tags` table, 2.26): plain strings, unique per server, at most MAX_TAGS of them.
 * Listed in the tags' code point order, as Nova's table (whose primary key is the server and the tag)
 * returns them on MySQL; sorted here rather than by the database, whose collation could order otherwise.
 */
import type { ExpressionBuilder, Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { retryOnLockConflict } from '../common/db/lock-conflict.ts';
import { lockRows } from '../common/db/row-locks.ts';
import type { Schema } from '../common/db/schema.ts';

/** Nova's MAX_TAG_COUNT: tags one server may carry. */
export const MAX_TAGS = 50;

/** The tags of a server, in order. */
export async function tagsOfInstance(db: Db | Transaction<Schema>, uuid: string): Promise<string[]> {
  const rows = await db.selectFrom('instance_tags').select('tag').where('instance_uuid', '=', uuid).execute();
  return rows.map((r) => r.tag).sort();
}

/** The tags of each of these servers (every uuid present, [] for none), in one query. */
export async function tagsOfInstances(db: Db, uuids: readonly string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(uuids.map((u) => [u, []]));
  if (!uuids.length) return result;
  const rows = await db
    .selectFrom('instance_tags')
    .select(['instance_uuid', 'tag'])
    .where('instance_uuid', 'in', [...uuids])
    .execute();
  for (const row of rows) result.get(row.instance_uuid)?.push(row.tag);
  for (const tags of result.values()) tags.sort();
  return result;
}

/** Writes the tags of a new server (duplicates once). */
export async function insertTags(db: Db | Transaction<Schema>, uuid: string, tags: readonly string[]): Promise<void> {
  const unique = [...new Set(tags)];
  if (!unique.length) return;
  await db
    .insertInto('instance_tags')
    .values(unique.map((tag) => ({ instance_uuid: uuid, tag })))
    .execute();
}

/**
 * Runs `work` in a transaction that first takes the server's row lock, so that the tag writes of one
 * server run one at a time on every engine (a count checked against the limit stays true until the
 * commit); a deadlock between them is run again.
 */
function withServerLocked<T>(db: Db, uuid: string, work: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
  return retryOnLockConflict(() =>
    db.transaction().execute(async (trx) => {
      await lockRows(trx, trx.selectFrom('instances').select('id').where('uuid', '=', uuid)).execute();
      return work(trx);
    }),
  );
}

/** Replaces every tag of the server with `tags` (duplicates once); returns the new set. */
export async function replaceTags(db: Db, uuid: string, tags: readonly string[]): Promise<string[]> {
  return withServerLocked(db, uuid, async (trx) => {
    await trx.deleteFrom('instance_tags').where('instance_uuid', '=', uuid).execute();
    await insertTags(trx, uuid, tags);
    return tagsOfInstance(trx, uuid);
  });
}

/**
 * Adds one tag: 'created', 'exists' (the server had it: nothing to do) or 'full' (the server has
 * MAX_TAGS already; Nova checks the count before it looks whether the tag is there).
 */
export async function addTag(db: Db, uuid: string, tag: string): Promise<'created' | 'exists' | 'full'> {
  return withServerLocked(db, uuid, async (trx) => {
    const tags = await tagsOfInstance(trx, uuid);
    if (tags.length >= MAX_TAGS) return 'full';
    if (tags.includes(tag)) return 'exists';
    await trx.insertInto('instance_tags').values({ instance_uuid: uuid, tag }).execute();
    return 'created';
  });
}

export async function hasTag(db: Db, uuid: string, tag: string): Promise<boolean> {
  const row = await db
    .selectFrom('instance_tags')
    .select('tag')
    .where('instance_uuid', '=', uuid)
    .where('tag', '=', tag)
    .executeTakeFirst();
  return row !== undefined;
}

/** Removes one tag; false when the server did not have it. */
export async function removeTag(db: Db, uuid: string, tag: string): Promise<boolean> {
  const result = await db
    .deleteFrom('instance_tags')
    .where('instance_uuid', '=', uuid)
    .where('tag', '=', tag)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Removes every tag of the server (also when the server is deleted, as Nova's instance_destroy does). */
export async function removeAllTags(db: Db | Transaction<Schema>, uuid: string): Promise<void> {
  await db.deleteFrom('instance_tags').where('instance_uuid', '=', uuid).execute();
}

/** The tag filters of a server list (2.26), each a list of tags as the query's comma-separated value. */
export interface TagFilter {
  /** Servers with every one of these tags. */
  all?: readonly string[];
  /** Servers with at least one of these. */
  any?: readonly string[];
  /** Servers without at least one of these (not all of them). */
  notAll?: readonly string[];
  /** Servers with none of these. */
  notAny?: readonly string[];
}

/** The condition on `instances` a tag filter sets (true when the filter sets none). */
export function tagCondition(eb: ExpressionBuilder<Schema, 'instances'>, filter: TagFilter) {
  const withTags = (tags: readonly string[]) =>
    eb.exists(
      eb
        .selectFrom('instance_tags')
        .select('instance_tags.tag')
        .whereRef('instance_tags.instance_uuid', '=', 'instances.uuid')
        .where('instance_tags.tag', 'in', [...tags]),
    );
  const withAll = (tags: readonly string[]) => eb.and([...new Set(tags)].map((tag) => withTags([tag])));
  const terms = [];
  if (filter.all?.length) terms.push(withAll(filter.all));
  if (filter.any?.length) terms.push(withTags(filter.any));
  if (filter.notAll?.length) terms.push(eb.not(withAll(filter.notAll)));
  if (filter.notAny?.length) terms.push(eb.not(withTags(filter.notAny)));
  return eb.and(terms);
}
