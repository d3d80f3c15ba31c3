/**
 * A minimal RFB (VNC) client for tests: the handshake with no authentication, then whole-screen
 * framebuffer updates in the raw encoding, so a test can read the guest's screen as noVNC draws it and
 * see it change. RFB 3.8 only (what qemu speaks).
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';

/** Bytes both ways: a console websocket (ConsoleSocket) or a TCP socket wrapped alike. */
export interface ByteStream {
  read(n: number): Promise<Buffer>;
  write(data: Buffer): void;
}

/** RFB security type "None". */
const SECURITY_NONE = 1;
/** Encodings: raw pixels, and the DesktopSize pseudo-encoding (the screen changed size). */
const RAW = 0;
const DESKTOP_SIZE = -223;

export interface Frame {
  width: number;
  height: number;
  /** SHA-256 of every rectangle's position and pixels: equal digests, equal screens. */
  digest: string;
  /** How many distinct pixel values the screen has: 1 for a blank screen. */
  colours: number;
  /** How many pixels are not black (value 0): grows as text is printed on a text-mode screen. */
  lit: number;
}

export class RfbScreen {
  private constructor(
    private readonly stream: ByteStream,
    public width: number,
    public height: number,
    private readonly bytesPerPixel: number,
  ) {}

  /** Greets the server, asks for no authentication and a shared session, and reads the screen's size. */
  static async open(stream: ByteStream): Promise<RfbScreen> {
    const version = (await stream.read(12)).toString('latin1');
    assert.equal(version, 'RFB 003.008\n', 'the VNC server speaks RFB 3.8');
    stream.write(Buffer.from(version, 'latin1'));
    const [count = 0] = await stream.read(1);
    const types = [...(await stream.read(count))];
    assert.ok(types.includes(SECURITY_NONE), `the VNC server offers no authentication (got ${types.join(',')})`);
    stream.write(Buffer.from([SECURITY_NONE]));
    assert.equal((await stream.read(4)).readUInt32BE(0), 0, 'the security handshake succeeds');
    stream.write(Buffer.from([1])); // ClientInit: shared
    const init = await stream.read(24);
    const bitsPerPixel = init.readUInt8(4);
    await stream.read(init.readUInt32BE(20)); // the desktop's name
    const encodings = Buffer.alloc(4 + 8);
    encodings.writeUInt8(2, 0); // SetEncodings
    encodings.writeUInt16BE(2, 2);
    encodings.writeInt32BE(RAW, 4);
    encodings.writeInt32BE(DESKTOP_SIZE, 8);
    stream.write(encodings);
    return new RfbScreen(stream, init.readUInt16BE(0), init.readUInt16BE(2), bitsPerPixel / 8);
  }

  /** The whole screen now (a non-incremental update request and its answer). */
  async frame(): Promise<Frame> {
    const request = Buffer.alloc(10);
    request.writeUInt8(3, 0); // FramebufferUpdateRequest, not incremental
    request.writeUInt16BE(this.width, 6);
    request.writeUInt16BE(this.height, 8);
    this.stream.write(request);
    for (;;) {
      const [type] = await this.stream.read(1);
      if (type === 0) return this.readUpdate();
      if (type === 2) continue; // Bell
      if (type === 3) {
        const header = await this.stream.read(7);
        await this.stream.read(header.readUInt32BE(3)); // ServerCutText
        continue;
      }
      throw new Error(`unexpected RFB server message type ${String(type)}`);
    }
  }

  private async readUpdate(): Promise<Frame> {
    const count = (await this.stream.read(3)).readUInt16BE(1);
    const hash = createHash('sha256');
    const colours = new Set<number>();
    let lit = 0;
    let resized = false;
    for (let i = 0; i < count; i++) {
      const header = await this.stream.read(12);
      const [w, h, encoding] = [header.readUInt16BE(4), header.readUInt16BE(6), header.readInt32BE(8)];
      if (encoding === DESKTOP_SIZE) {
        [this.width, this.height, resized] = [w, h, true];
        continue;
      }
      assert.equal(encoding, RAW, `rectangle ${i} is in the raw encoding`);
      const pixels = await this.stream.read(w * h * this.bytesPerPixel);
      hash.update(header.subarray(0, 8)).update(pixels);
      for (let p = 0; p + this.bytesPerPixel <= pixels.length; p += this.bytesPerPixel) {
        const value = pixels.readUIntLE(p, this.bytesPerPixel);
        colours.add(value);
        if (value !== 0) lit++;
      }
    }
    // A resize answers the request alone: the screen itself comes with the next update.
    if (resized && colours.size === 0) return this.frame();
    return { width: this.width, height: this.height, digest: hash.digest('hex'), colours: colours.size, lit };
  }
}
