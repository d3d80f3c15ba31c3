/**
 * What the compute API asks of the image service: an image to boot from, for createImage a new
 * (queued) snapshot image and its removal when the snapshot cannot start, and for the images proxy API
 * (below 2.36) listing, showing, deleting images and rewriting their properties. The compute API does not read
 * the image tables itself: the image service owns them, and this interface is wired to its repository.
 */
import type { RequestContext } from '../../common/context.ts';

export interface ImageSummary {
  id: string;
  /** Glance status; only 'active' images can be booted. */
  status: string;
  /** Megabytes of RAM the image needs at least. */
  min_ram: number;
  /** Gigabytes of root disk the image needs at least. */
  min_disk: number;
  disk_format?: string | null;
  container_format?: string | null;
  properties: Record<string, string>;
}

/** The image record a snapshot starts as (Nova's snapshot image metadata); its data comes later. */
export interface SnapshotImageRequest {
  name: string;
  /** The server's project: a snapshot belongs to the project of its server. */
  owner: string;
  diskFormat: string | null;
  containerFormat: string | null;
  minRam: number;
  minDisk: number;
  properties: Record<string, string>;
}

/** An image as the images proxy API (removed at 2.36) shows it. */
export interface ImageRecord extends ImageSummary {
  name: string | null;
  /** Bytes of data; null until uploaded. */
  size: number | null;
  created_at: string;
  updated_at: string | null;
}

/** The images proxy's list: the image API's own filters, newest first, one page after `marker`. */
export interface ImageListRequest {
  limit: number;
  marker?: string;
  name?: string;
  status?: string;
  /** Stored-format time: images updated at or after it. */
  changesSince?: string;
  /** Exact matches on free-form properties (unknown names match nothing, as in the image API). */
  properties: Record<string, string>;
}

export interface ImageLookup {
  /** The image as `ctx` may see it, or null if it does not exist or is not visible to `ctx`. */
  getImage(ctx: RequestContext, id: string): Promise<ImageSummary | null>;
  /** Creates the private, queued image a snapshot uploads into; returns its id. */
  createSnapshotImage(ctx: RequestContext, request: SnapshotImageRequest): Promise<string>;
  /** Deletes an image as `ctx` (the image API's rules: NotFound, Forbidden for others' or protected ones). */
  deleteImage(ctx: RequestContext, id: string): Promise<void>;
  /** The image with what the proxy shows of it, or null if it does not exist or `ctx` may not see it. */
  describeImage(ctx: RequestContext, id: string): Promise<ImageRecord | null>;
  /** A page of the images `ctx` may see; a marker that names no visible image is a BadRequest. */
  listImages(ctx: RequestContext, request: ImageListRequest): Promise<ImageRecord[]>;
  /**
   * Makes `properties` the image's free-form properties (others removed), as its owner or an admin;
   * NotFound or Forbidden as the image API answers. Returns them as stored.
   */
  replaceImageProperties(
    ctx: RequestContext,
    id: string,
    properties: Record<string, string>,
  ): Promise<Record<string, string>>;
}
