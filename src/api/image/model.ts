/** The image as the API and its callers see it, and the vocabulary of Glance's v2 API. */

export const DISK_FORMATS = [
  'ami',
  'ari',
  'aki',
  'vhd',
  'vhdx',
  'vmdk',
  'raw',
  'qcow2',
  'vdi',
  'iso',
  'ploop',
] as const;
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'] as const;
export const VISIBILITIES = ['public', 'private', 'shared', 'community'] as const;
export const STATUSES = [
  'queued',
  'saving',
  'active',
  'killed',
  'deleted',
  'uploading',
  'importing',
  'pending_delete',
  'deactivated',
] as const;

export type Visibility = (typeof VISIBILITIES)[number];
export type ImageStatus = (typeof STATUSES)[number];

/** Glance's defaults for `[DEFAULT] image_property_quota` and `image_tag_quota`. */
export const MAX_PROPERTIES = 128;
export const MAX_TAGS = 128;
/** Longest name, tag, property key and owner, as Glance's schema and columns allow. */
export const MAX_STRING = 255;
/** min_disk and min_ram are 32-bit integer columns in Glance. */
export const MAX_INT32 = 2 ** 31 - 1;

export interface Image {
  readonly id: string;
  readonly name: string | null;
  readonly status: ImageStatus;
  readonly diskFormat: string | null;
  readonly containerFormat: string | null;
  readonly visibility: Visibility;
  /** The owning project; null only for images created with an unscoped admin context. */
  readonly owner: string | null;
  readonly size: number | null;
  readonly virtualSize: number | null;
  readonly checksum: string | null;
  readonly osHashAlgo: string | null;
  readonly osHashValue: string | null;
  readonly minDisk: number;
  readonly minRam: number;
  readonly protected: boolean;
  readonly osHidden: boolean;
  /** Store location of the data; null until an upload has completed. */
  readonly location: string | null;
  readonly createdAt: string;
  readonly updatedAt: string | null;
  /** Free-form string properties (`kernel_id`, `hw_disk_bus`, ...), flattened into the API body. */
  readonly properties: Readonly<Record<string, string>>;
  readonly tags: readonly string[];
}

/** The attributes a caller may set on create or change by PATCH, beside free-form properties. */
export interface ImageAttributes {
  name?: string | null;
  diskFormat?: string | null;
  containerFormat?: string | null;
  visibility?: Visibility;
  owner?: string | null;
  minDisk?: number;
  minRam?: number;
  protected?: boolean;
  osHidden?: boolean;
}

/** API attribute name → domain field, for the attributes an image has beside its properties. */
export const CORE_ATTRIBUTES = {
  name: 'name',
  disk_format: 'diskFormat',
  container_format: 'containerFormat',
  visibility: 'visibility',
  owner: 'owner',
  min_disk: 'minDisk',
  min_ram: 'minRam',
  protected: 'protected',
  os_hidden: 'osHidden',
} as const satisfies Record<string, keyof ImageAttributes>;

export type CoreAttributeName = keyof typeof CORE_ATTRIBUTES;

/** Attributes the server computes; setting them is refused with 403 as Glance does. */
export const READ_ONLY_ATTRIBUTES = new Set([
  'created_at',
  'updated_at',
  'status',
  'checksum',
  'size',
  'virtual_size',
  'direct_url',
  'self',
  'file',
  'schema',
  'id',
  'os_hash_algo',
  'os_hash_value',
  'stores',
  'locations',
]);

/** Names Glance keeps for itself: not usable as properties. */
export const RESERVED_ATTRIBUTES = new Set(['location', 'deleted', 'deleted_at']);
export const RESERVED_PREFIX = 'os_glance';

export function isCoreAttribute(name: string): name is CoreAttributeName {
  return Object.hasOwn(CORE_ATTRIBUTES, name);
}
