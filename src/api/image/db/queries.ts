/** Reads and writes of single images: rows, their properties and tags, and status changes as compare-and-swap. */
import type { Insertable, Updateable } from 'kysely';
import type { Db } from '../../../common/db/database.ts';
import type { ImagesTable } from '../../../common/db/schema.ts';
import type { Image, ImageStatus } from '../model.ts';
import { hydrate, type ImageRow } from './rows.ts';

/** Image timestamps have whole seconds, as Glance shows them; equal times then compare equal in filters. */
export function imageNow(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
}

/** The live (not deleted) row of `id`. */
export async function findRow(db: Db, id: string): Promise<ImageRow | null> {
  const row = await db
    .selectFrom('images')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row ?? null;
}

export async function findImage(db: Db, id: string): Promise<Image | null> {
  const row = await findRow(db, id);
  if (!row) return null;
  const [image] = await hydrate(db, [row]);
  return image ?? null;
}

/** True when any row, deleted ones included, has this id: Glance never reuses an image id. */
export async function idTaken(db: Db, id: string): Promise<boolean> {
  const row = await db.selectFrom('images').select('id').where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}

export async function insertImage(
  db: Db,
  row: Insertable<ImagesTable>,
  properties: Readonly<Record<string, string>>,
  tags: readonly string[],
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('images').values(row).execute();
    await writeProperties(trx, row.id, properties);
    await writeTags(trx, row.id, tags);
  });
}

/**
 * Writes changed columns, and replaces properties and tags when given, in one transaction. Returns false
 * when the image is gone or was deleted meanwhile.
 */
export async function saveImage(
  db: Db,
  id: string,
  columns: Updateable<ImagesTable>,
  properties?: Readonly<Record<string, string>>,
  tags?: readonly string[],
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('images')
      .set({ ...columns, updated_at: imageNow() })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    if (properties) {
      await trx.deleteFrom('image_properties').where('image_id', '=', id).execute();
      await writeProperties(trx, id, properties);
    }
    if (tags) {
      await trx.deleteFrom('image_tags').where('image_id', '=', id).execute();
      await writeTags(trx, id, tags);
    }
    return true;
  });
}

/**
 * Moves the image from one status to another only if it is still in `from`: two uploads racing for the
 * same queued image cannot both win, and an upload finishing after a delete sees that it lost.
 */
export async function swapStatus(
  db: Db,
  id: string,
  from: ImageStatus,
  to: ImageStatus,
  columns: Updateable<ImagesTable> = {},
): Promise<boolean> {
  const result = await db
    .updateTable('images')
    .set({ ...columns, status: to, updated_at: imageNow() })
    .where('id', '=', id)
    .where('status', '=', from)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Soft-deletes the row (its id stays taken) and drops its properties and tags. */
export async function markDeleted(db: Db, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const now = imageNow();
    const result = await trx
      .updateTable('images')
      .set({ status: 'deleted', deleted_at: now, updated_at: now, location: null })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    await trx.deleteFrom('image_properties').where('image_id', '=', id).execute();
    await trx.deleteFrom('image_tags').where('image_id', '=', id).execute();
    return true;
  });
}

async function writeProperties(db: Db, id: string, properties: Readonly<Record<string, string>>): Promise<void> {
  const rows = Object.entries(properties).map(([name, value]) => ({ image_id: id, name, value }));
  if (rows.length > 0) await db.insertInto('image_properties').values(rows).execute();
}

async function writeTags(db: Db, id: string, tags: readonly string[]): Promise<void> {
  const rows = tags.map((value) => ({ image_id: id, value }));
  if (rows.length > 0) await db.insertInto('image_tags').values(rows).execute();
}
