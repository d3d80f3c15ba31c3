/**
 * What the compute API needs to know about an image to boot from it. The compute API does not read the
 * image tables itself: the image service owns them, and this interface is wired to its repository.
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
  properties: Record<string, string>;
}

export interface ImageLookup {
  /** The image as `ctx` may see it, or null if it does not exist or is not visible to `ctx`. */
  getImage(ctx: RequestContext, id: string): Promise<ImageSummary | null>;
}
