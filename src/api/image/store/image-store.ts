/**
 * Where image data lives. The API, and through it the compute hosts, only ever stream data in and out
 * through this interface, so a store backed by something other than local files can replace the
 * filesystem one without touching the routes.
 */
import type { Readable } from 'node:stream';

export interface StoredData {
  /** Opaque to callers; kept in `images.location` and handed back to get/delete. */
  readonly location: string;
  readonly size: number;
  /** md5 hex digest, Glance's `checksum`. */
  readonly checksum: string;
  /** Hex digest with `hashAlgo`, Glance's `os_hash_value`. */
  readonly hash: string;
  readonly hashAlgo: 'sha512';
}

export interface PutOptions {
  /** Names the stored object, so an operator can tell which file belongs to which image. */
  readonly imageId: string;
  /** Bytes beyond this abort the write with ImageTooLarge; nothing is left behind. */
  readonly maxSize: number;
}

export interface ImageStore {
  /**
   * Streams `data` into the store, hashing on the way. Resolves once the data is durable; on any error
   * (the source failing or aborting, the size cap, a full disk) nothing partial remains.
   */
  put(data: Readable, options: PutOptions): Promise<StoredData>;
  /** A stream of the data at `location`; rejects with NotFound when it is gone. */
  get(location: string): Promise<Readable>;
  /** Removes the data at `location`; removing what is already gone is not an error. */
  delete(location: string): Promise<void>;
}
