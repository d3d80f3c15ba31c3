/**
 * A pass-through stream that counts and hashes the bytes going by and stops the flow as soon as a size
 * cap is crossed, so an oversized upload is refused after reading at most one chunk past the cap rather
 * than after writing it all to disk.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { RequestEntityTooLarge } from '../errors.ts';

export class DigestMeter extends Transform {
  private readonly md5: Hash = createHash('md5');
  private readonly sha512: Hash = createHash('sha512');
  private bytes = 0;

  constructor(private readonly maxSize: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxSize) {
      callback(
        new RequestEntityTooLarge(`The incoming image is too large: it exceeds the limit of ${this.maxSize} bytes.`),
      );
      return;
    }
    this.md5.update(chunk);
    this.sha512.update(chunk);
    callback(null, chunk);
  }

  /** Size and digests; valid once the stream has finished. */
  result(): { size: number; checksum: string; hash: string } {
    return { size: this.bytes, checksum: this.md5.digest('hex'), hash: this.sha512.digest('hex') };
  }
}
