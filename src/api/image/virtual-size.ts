/**
 * The size of the disk an image expands to, read from the first bytes of the data as they stream by,
 * as Glance's format inspector does for the formats Stratus boots: qcow2 records it in its header; a
 * raw (or ISO) image is its own disk. Other formats report none rather than a guess.
 */
import { Transform, type TransformCallback } from 'node:stream';

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const HEAD_BYTES = 32;

/** Passes data through unchanged, keeping a copy of the first bytes. */
export class HeadCapture extends Transform {
  private head = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.head.length < HEAD_BYTES)
      this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
    callback(null, chunk);
  }

  get bytes(): Buffer {
    return this.head;
  }
}

export function virtualSize(diskFormat: string | null, head: Buffer, size: number): number | null {
  if (diskFormat === 'raw' || diskFormat === 'iso') return size;
  if (diskFormat === 'qcow2' && head.length >= 32 && head.readUInt32BE(0) === QCOW2_MAGIC) {
    const bytes = head.readBigUInt64BE(24);
    return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : null;
  }
  return null;
}
