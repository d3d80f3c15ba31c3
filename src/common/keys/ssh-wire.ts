/**
 * The OpenSSH wire format of public keys (RFC 4251 §5, RFC 4253 §6.6): a sequence of `string`s (a 32-bit
 * big-endian length, then that many bytes) and `mpint`s (a string holding a two's-complement big-endian
 * integer, without needless leading bytes). The base64 text of an `authorized_keys` line is this blob.
 */

export class SshWireError extends Error {}

/** Reads the fields of a blob in order; any read past its end is a SshWireError. */
export class SshWireReader {
  private offset = 0;

  constructor(private readonly blob: Buffer) {}

  string(): Buffer {
    if (this.offset + 4 > this.blob.length) throw new SshWireError('the key data ends in the middle of a field');
    const length = this.blob.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.blob.length) throw new SshWireError('the key data ends in the middle of a field');
    this.offset = start + length;
    return this.blob.subarray(start, this.offset);
  }

  text(): string {
    return this.string().toString('latin1');
  }

  /** An mpint as the unsigned magnitude of a non-negative integer (refused if negative). */
  unsignedMpint(): Buffer {
    const raw = this.string();
    if (raw.length > 0 && (raw[0]! & 0x80) !== 0) throw new SshWireError('the key holds a negative integer');
    let start = 0;
    while (start < raw.length && raw[start] === 0) start++;
    return raw.subarray(start);
  }

  /** True when every byte was read: OpenSSH refuses a blob with anything after its last field. */
  get atEnd(): boolean {
    return this.offset === this.blob.length;
  }
}

/** Builds a blob from its fields. */
export class SshWireWriter {
  private readonly parts: Buffer[] = [];

  string(value: Buffer | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    this.parts.push(length, bytes);
    return this;
  }

  /** A non-negative integer given as its unsigned big-endian magnitude. */
  unsignedMpint(magnitude: Buffer): this {
    let start = 0;
    while (start < magnitude.length && magnitude[start] === 0) start++;
    const trimmed = magnitude.subarray(start);
    // A set top bit would read as negative: a zero byte in front keeps it positive.
    return this.string(trimmed.length && (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.of(0), trimmed]) : trimmed);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}
