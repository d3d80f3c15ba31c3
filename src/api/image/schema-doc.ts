/**
 * The JSON schemas Glance publishes at /v2/schemas/image and /v2/schemas/images (glanceclient reads
 * them to build its commands), also used here to validate create bodies and PATCH values, so what is
 * published and what is enforced cannot drift apart.
 */
import { CONTAINER_FORMATS, DISK_FORMATS, MAX_STRING, STATUSES, VISIBILITIES } from './model.ts';

const UUID_PATTERN = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

const readOnly = (type: string | string[], description: string, extra: Record<string, unknown> = {}) => ({
  type,
  readOnly: true,
  description,
  ...extra,
});

export const IMAGE_PROPERTIES = {
  id: { type: 'string', pattern: UUID_PATTERN, description: 'Unique identifier of the image' },
  name: { type: ['null', 'string'], maxLength: MAX_STRING, description: 'Human-readable name of the image' },
  status: readOnly('string', 'Where the image is in its lifecycle', { enum: [...STATUSES] }),
  visibility: { type: 'string', enum: [...VISIBILITIES], description: 'Who can see the image' },
  protected: { type: 'boolean', description: 'A protected image cannot be deleted' },
  os_hidden: { type: 'boolean', description: 'A hidden image is left out of listings unless asked for' },
  checksum: readOnly(['null', 'string'], 'MD5 digest of the image data', { maxLength: 32 }),
  os_hash_algo: readOnly(['null', 'string'], 'Algorithm of os_hash_value', { maxLength: 64 }),
  os_hash_value: readOnly(['null', 'string'], 'Digest of the image data with os_hash_algo', { maxLength: 128 }),
  owner: { type: ['null', 'string'], maxLength: MAX_STRING, description: 'Project that owns the image' },
  size: readOnly(['null', 'integer'], 'Size of the image data in bytes'),
  virtual_size: readOnly(['null', 'integer'], 'Size of the disk the image expands to, in bytes'),
  container_format: {
    type: ['null', 'string'],
    enum: [null, ...CONTAINER_FORMATS],
    description: 'Container the image data is wrapped in',
  },
  disk_format: { type: ['null', 'string'], enum: [null, ...DISK_FORMATS], description: 'Format of the disk image' },
  created_at: readOnly('string', 'When the image was registered'),
  updated_at: readOnly('string', 'When the image last changed'),
  tags: {
    type: 'array',
    items: { type: 'string', maxLength: MAX_STRING },
    description: 'Free-form labels of the image',
  },
  direct_url: readOnly('string', 'Location of the data in the store (not exposed)'),
  min_ram: { type: 'integer', minimum: 0, maximum: 2147483647, description: 'RAM in MB a server needs to boot it' },
  min_disk: { type: 'integer', minimum: 0, maximum: 2147483647, description: 'Disk in GB a server needs to boot it' },
  self: readOnly('string', 'Link to this image'),
  file: readOnly('string', 'Link to the image data'),
  schema: readOnly('string', 'Link to this schema'),
  locations: readOnly('array', 'Store locations of the data (not exposed)'),
  kernel_id: {
    type: 'string',
    pattern: UUID_PATTERN,
    is_base: false,
    description: 'Image to use as the kernel when booting an AMI-style image',
  },
  ramdisk_id: {
    type: 'string',
    pattern: UUID_PATTERN,
    is_base: false,
    description: 'Image to use as the ramdisk when booting an AMI-style image',
  },
} as const;

export const IMAGE_SCHEMA = {
  name: 'image',
  properties: IMAGE_PROPERTIES,
  additionalProperties: { type: 'string' },
  links: [
    { rel: 'self', href: '{self}' },
    { rel: 'enclosure', href: '{file}' },
    { rel: 'describedby', href: '{schema}' },
  ],
} as const;

export const IMAGES_SCHEMA = {
  name: 'images',
  properties: {
    images: { type: 'array', items: IMAGE_SCHEMA },
    schema: { type: 'string' },
    first: { type: 'string' },
    next: { type: 'string' },
  },
  links: [
    { rel: 'first', href: '{first}' },
    { rel: 'next', href: '{next}' },
    { rel: 'describedby', href: '{schema}' },
  ],
} as const;
