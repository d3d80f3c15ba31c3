/**
 * The image store on a local directory (`[image] filesystem_store_datadir`), like glance_store's
 * filesystem backend: one file per image, named by the image id, with a `file://` location.
 *
 * Data arrives in a hidden temporary file in the same directory and is renamed into place only once it
 * is complete and flushed, so a reader never sees a partial image and a crash leaves at most a stray
 * temporary file, never a truncated image.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BadRequest, NotFound } from '../../../common/errors.ts';
import { DigestMeter } from './digest-meter.ts';
import type { ImageStore, PutOptions, StoredData } from './image-store.ts';

const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

export class FilesystemImageStore implements ImageStore {
  readonly directory: string;

  constructor(directory: string) {
    this.directory = resolve(directory);
  }

  async put(data: Readable, options: PutOptions): Promise<StoredData> {
    // The id becomes a file name: refuse anything that could climb out of the directory.
    if (!SAFE_NAME.test(options.imageId)) throw new BadRequest(`Invalid image id for the store: ${options.imageId}`);
    await mkdir(this.directory, { recursive: true, mode: 0o750 });
    const finalPath = join(this.directory, options.imageId);
    const tempPath = join(this.directory, `.${options.imageId}.${randomBytes(6).toString('hex')}.part`);
    const meter = new DigestMeter(options.maxSize);
    // Created before the copy starts: a stream that opens its file lazily could create it after a failed
    // copy was cleaned up, leaving a stray temporary file behind.
    const handle = await open(tempPath, 'wx', 0o640);
    try {
      // `flush` fsyncs before close, so the rename below never publishes data still in the page cache.
      await pipeline(data, meter, handle.createWriteStream({ flush: true }));
      await rename(tempPath, finalPath);
    } catch (err) {
      await unlink(tempPath).catch(() => undefined);
      throw err;
    }
    await this.syncDirectory();
    const { size, checksum, hash } = meter.result();
    return { location: pathToFileURL(finalPath).href, size, checksum, hash, hashAlgo: 'sha512' };
  }

  async get(location: string): Promise<Readable> {
    const path = this.pathOf(location);
    // Open first so a missing file is a NotFound here, not an error in the middle of a response.
    const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new NotFound(`Image data not found in the store at ${location}`);
      throw err;
    });
    // The stream owns the handle from here and closes it when it ends or is destroyed.
    return handle.createReadStream();
  }

  async delete(location: string): Promise<void> {
    await unlink(this.pathOf(location)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** The file behind a location, refusing any location outside the store's directory. */
  private pathOf(location: string): string {
    let path: string;
    try {
      path = resolve(fileURLToPath(location));
    } catch {
      throw new NotFound(`Not a location of this store: ${location}`);
    }
    if (!path.startsWith(this.directory + sep)) throw new NotFound(`Not a location of this store: ${location}`);
    return path;
  }

  /** Makes the rename itself durable. */
  private async syncDirectory(): Promise<void> {
    const dir = await open(this.directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
