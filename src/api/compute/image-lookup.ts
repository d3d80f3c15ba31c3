/**
 * What the compute API asks of the image service: an image to boot from, and for createImage a new
 * (queued) snapshot image and its removal when the snapshot cannot start. The compute API does not read
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

export interface ImageLookup {
  /** The image as `ctx` may see it, or null if it does not exist or is not visible to `ctx`. */
  getImage(ctx: RequestContext, id: string): Promise<ImageSummary | null>;
  /** Creates the private, queued image a snapshot uploads into; returns its id. */
  createSnapshotImage(ctx: RequestContext, request: SnapshotImageRequest): Promise<string>;
  /** Deletes an image `ctx` created (a snapshot that could not be started). */
  deleteImage(ctx: RequestContext, id: string): Promise<void>;
}
