/** Images as Glance's v2 API writes them: properties flattened into the object, links, second-precision times. */
import type { Image } from './model.ts';

export type ImageBody = Record<string, unknown>;

/** `2026-11-21T09:38:55Z`: Glance's isotime, without fractions of a second. */
export function isoTime(value: string | null): string | null {
  if (value === null) return null;
  return new Date(value).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function imageHref(id: string): string {
  return `/v2/images/${id}`;
}

export function imageView(image: Image): ImageBody {
  // Properties first so a core attribute can never be shadowed by a property of the same name.
  return {
    ...image.properties,
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    disk_format: image.diskFormat,
    container_format: image.containerFormat,
    size: image.size,
    virtual_size: image.virtualSize,
    checksum: image.checksum,
    os_hash_algo: image.osHashAlgo,
    os_hash_value: image.osHashValue,
    min_disk: image.minDisk,
    min_ram: image.minRam,
    protected: image.protected,
    os_hidden: image.osHidden,
    owner: image.owner,
    tags: [...image.tags],
    created_at: isoTime(image.createdAt),
    updated_at: isoTime(image.updatedAt ?? image.createdAt),
    self: imageHref(image.id),
    file: `${imageHref(image.id)}/file`,
    schema: '/v2/schemas/image',
  };
}
