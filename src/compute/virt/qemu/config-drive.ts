/**
 * A guest's config drive (Nova's configdrive.ConfigDriveBuilder): its files on a volume labelled
 * `config-2`, which cloud-init's ConfigDrive datasource looks for by label. `iso9660` (Nova's default,
 * `[DEFAULT] config_drive_format`) is written by `[DEFAULT] mkisofs_cmd` with Nova's arguments (Rock Ridge
 * and Joliet, lower case and multi-dot names kept); genisoimage is Debian's package of the mkisofs Nova
 * runs, and xorriso's xorrisofs takes the same arguments. `vfat` is a 64 MiB FAT file system, as Nova makes
 * it, filled with mtools' mcopy so that no mount (and no root) is needed. Both are attached read-only.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ConfigDriveFiles } from '../driver.ts';

const run = promisify(execFile);

export type ConfigDriveFormat = 'iso9660' | 'vfat';

export interface ConfigDriveOptions {
  format: ConfigDriveFormat;
  /** The ISO 9660 writer (genisoimage, mkisofs or xorrisofs). */
  mkisofsCmd: string;
}

/** The volume label cloud-init (and Nova) use for a config drive. */
export const CONFIG_DRIVE_LABEL = 'config-2';
/** Nova's size of a vfat config drive. */
const VFAT_BYTES = 64 * 1024 * 1024;

/** Writes the drive to `path` whole or not at all (a new file renamed over any old one). */
export async function writeConfigDrive(
  files: ConfigDriveFiles,
  path: string,
  options: ConfigDriveOptions,
): Promise<void> {
  const tree = await mkdtemp(join(dirname(path), '.config-drive-'));
  const partial = `${path}.part`;
  try {
    for (const [name, data] of files) {
      if (name.startsWith('/') || name.split('/').includes('..')) throw new Error(`bad config drive path ${name}`);
      await mkdir(dirname(join(tree, name)), { recursive: true });
      await writeFile(join(tree, name), data);
    }
    await rm(partial, { force: true });
    if (options.format === 'vfat') await writeVfat(tree, [...topLevel(files)], partial);
    else await writeIso(tree, partial, options.mkisofsCmd);
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw new Error(`could not write the config drive ${path}: ${toolError(err)}`);
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
}

async function writeIso(tree: string, output: string, command: string): Promise<void> {
  const args = ['-o', output, '-ldots', '-allow-lowercase', '-allow-multidot', '-l'];
  args.push('-publisher', 'Stratus', '-quiet', '-J', '-r', '-V', CONFIG_DRIVE_LABEL, tree);
  await run(command, args);
}

async function writeVfat(tree: string, entries: string[], output: string): Promise<void> {
  await writeFile(output, '');
  await truncate(output, VFAT_BYTES);
  await run('mkfs.vfat', ['-n', CONFIG_DRIVE_LABEL, output]);
  if (!entries.length) return;
  // mcopy checks the image's geometry against a floppy's unless told not to.
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  await run('mcopy', ['-s', '-i', output, ...entries.map((e) => join(tree, e)), '::/'], { env });
}

/** The top-level names of the drive (openstack, ec2): what mcopy copies recursively. */
function topLevel(files: ConfigDriveFiles): Set<string> {
  return new Set([...files.keys()].map((name) => name.split('/')[0]!));
}

/** A missing tool says which Debian package brings it. */
function toolError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { stderr?: string };
  if (e.code === 'ENOENT' && e.syscall?.startsWith('spawn')) {
    return `${e.path ?? e.syscall.slice(6)} is not installed (Debian packages: genisoimage for iso9660; dosfstools and mtools for vfat)`;
  }
  return (e.stderr || e.message).trim();
}
