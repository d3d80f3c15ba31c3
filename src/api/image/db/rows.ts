/** Turning rows of `images`, `image_properties` and `image_tags` into images, a page at a time. */
import type { Selectable } from 'kysely';
import type { Db } from '../../../common/db/database.ts';
import type { ImagesTable } from '../../../common/db/schema.ts';
import type { Image, ImageStatus, Visibility } from '../model.ts';

export type ImageRow = Selectable<ImagesTable>;

export function toImage(row: ImageRow, properties: Record<string, string>, tags: string[]): Image {
  return {
    id: row.id,
    name: row.name,
    status: row.status as ImageStatus,
    diskFormat: row.disk_format,
    containerFormat: row.container_format,
    visibility: row.visibility as Visibility,
    owner: row.owner,
    size: row.size,
    virtualSize: row.virtual_size,
    checksum: row.checksum,
    osHashAlgo: row.os_hash_algo,
    osHashValue: row.os_hash_value,
    minDisk: row.min_disk,
    minRam: row.min_ram,
    protected: row.protected === 1,
    osHidden: row.os_hidden === 1,
    location: row.location,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    properties,
    tags,
  };
}

/** Loads properties and tags of all `rows` in two queries, whatever the page size. */
export async function hydrate(db: Db, rows: readonly ImageRow[]): Promise<Image[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [props, tags] = await Promise.all([
    db.selectFrom('image_properties').select(['image_id', 'name', 'value']).where('image_id', 'in', ids).execute(),
    db.selectFrom('image_tags').select(['image_id', 'value']).where('image_id', 'in', ids).orderBy('id').execute(),
  ]);
  const propsById = new Map<string, Record<string, string>>();
  for (const p of props) {
    let bag = propsById.get(p.image_id);
    if (!bag) propsById.set(p.image_id, (bag = {}));
    bag[p.name] = p.value;
  }
  const tagsById = new Map<string, string[]>();
  for (const t of tags) {
    let list = tagsById.get(t.image_id);
    if (!list) tagsById.set(t.image_id, (list = []));
    list.push(t.value);
  }
  return rows.map((row) => toImage(row, propsById.get(row.id) ?? {}, tagsById.get(row.id) ?? []));
}
