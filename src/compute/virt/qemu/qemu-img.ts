/**
 * The qemu-img operations the driver needs: inspect a file (format, virtual size, backing file), create a
 * copy-on-write overlay on a base image, convert, flatten, rebase. Each runs the binary without a shell.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DiskInfo {
  /** The format qemu-img detects from the content (never trusts a file name). */
  format: string;
  virtualSize: number;
  backingFilename: string | null;
  /** The backing file's format as the image records it, if it does. */
  backingFormat: string | null;
}

export class QemuImg {
  constructor(private readonly binary: string = 'qemu-img') {}

  /**
   * What the file is, probed from its content: a file whose declared format differs is caught by the
   * caller. Read-only, so it shares the file with a qemu that has it open (`-U`).
   */
  async info(path: string): Promise<DiskInfo> {
    const { stdout } = await this.exec(['info', '-U', '--output=json', path]);
    const parsed = JSON.parse(stdout) as {
      format: string;
      'virtual-size': number;
      'backing-filename'?: string;
      'full-backing-filename'?: string;
      'backing-filename-format'?: string;
    };
    return {
      format: parsed.format,
      virtualSize: parsed['virtual-size'],
      // The full name resolves a backing file recorded relative to the image's directory.
      backingFilename: parsed['full-backing-filename'] ?? parsed['backing-filename'] ?? null,
      backingFormat: parsed['backing-filename-format'] ?? null,
    };
  }

  /** A qcow2 file whose unwritten blocks read from `base`; `sizeBytes` grows it beyond the base's size. */
  async createOverlay(base: string, baseFormat: string, path: string, sizeBytes?: number): Promise<void> {
    const args = ['create', '-q', '-f', 'qcow2', '-F', baseFormat, '-b', base, path];
    if (sizeBytes !== undefined) args.push(String(sizeBytes));
    await this.exec(args);
  }

  async convert(source: string, sourceFormat: string, target: string, targetFormat: string): Promise<void> {
    await this.exec(['convert', '-q', '-f', sourceFormat, '-O', targetFormat, source, target]);
  }

  /**
   * A standalone qcow2 copy of `source` with its whole backing chain merged in. `-U`: the guest's qemu
   * holds the disk open (the caller has stopped its CPUs and qemu flushed its writes on stop).
   */
  async flatten(source: string, sourceFormat: string, target: string): Promise<void> {
    await this.exec(['convert', '-q', '-U', '-f', sourceFormat, '-O', 'qcow2', source, target]);
  }

  /**
   * Makes `path` read the same on a new backing file (`backing` of `backingFormat`; null: none), copying
   * into it what differs (a safe rebase). For an image no qemu has open.
   */
  async rebase(path: string, backing: string | null, backingFormat: string | null): Promise<void> {
    const target = backing ? ['-b', backing, ...(backingFormat ? ['-F', backingFormat] : [])] : ['-b', ''];
    await this.exec(['rebase', '-q', '-f', 'qcow2', ...target, path]);
  }

  /**
   * Points `path` at another backing file without reading either (an unsafe rebase): only for a backing
   * file with the same content as the old one, such as the same image cached on another host.
   */
  async repointBacking(path: string, backing: string, backingFormat: string): Promise<void> {
    await this.exec(['rebase', '-q', '-u', '-f', 'qcow2', '-b', backing, '-F', backingFormat, path]);
  }

  /** Grows a qcow2 disk no qemu has open to `sizeBytes` (the guest grows its filesystem itself). */
  async grow(path: string, sizeBytes: number): Promise<void> {
    await this.exec(['resize', '-q', '-f', 'qcow2', path, String(sizeBytes)]);
  }

  private async exec(args: string[]): Promise<{ stdout: string }> {
    try {
      return await run(this.binary, args, { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') {
        throw new Error(`${this.binary} is not installed; install the Debian package qemu-utils`);
      }
      throw new Error(`${this.binary} ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`);
    }
  }
}
