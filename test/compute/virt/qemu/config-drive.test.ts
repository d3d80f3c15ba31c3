import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { writeConfigDrive } from '../../../../src/compute/virt/qemu/config-drive.ts';
import { qemuArguments, type GuestSpec } from '../../../../src/compute/virt/qemu/guest-spec.ts';
import { configDriveFiles } from '../../../../src/guest-metadata/index.ts';
import { guestInput } from '../../../guest-metadata/fixtures.ts';
import { TCG_MACHINE, TEST_GUEST_FILES, testGuestSpec } from '../../../helpers/guest-spec.ts';

const run = promisify(execFile);
const files = configDriveFiles(guestInput({ admin_pass: 'sesame' }));

describe('config drive volumes', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'config-drive-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes an ISO 9660 volume labelled config-2 with the openstack/ and ec2/ trees', async () => {
    const path = join(dir, 'disk.config');
    await writeConfigDrive(files, path, { format: 'iso9660', mkisofsCmd: 'genisoimage' });
    const { stdout: info } = await run('isoinfo', ['-d', '-i', path]);
    assert.match(info, /^Volume id: config-2$/m);
    assert.match(info, /Rock Ridge/);
    const { stdout: meta } = await run('isoinfo', ['-R', '-i', path, '-x', '/openstack/latest/meta_data.json']);
    assert.equal(JSON.parse(meta).uuid, '6a4b5c8e-8d5e-4e1f-9e3a-0f0b1c2d3e4f');
    assert.equal(JSON.parse(meta).admin_pass, 'sesame');
    const { stdout: listing } = await run('isoinfo', ['-R', '-f', '-i', path]);
    assert.ok(listing.includes('/ec2/latest/meta-data.json'));
    // Nothing is left beside it: the tree it was made from and the partial file are gone.
    assert.deepEqual(await readdir(dir), ['disk.config']);
  });

  it('writes a vfat volume labelled config-2 without mounting anything', async () => {
    const path = join(dir, 'disk.vfat');
    await writeConfigDrive(files, path, { format: 'vfat', mkisofsCmd: 'genisoimage' });
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const { stdout: label } = await run('mlabel', ['-s', '-i', path, '::'], { env });
    assert.match(label, /config-2/i);
    const { stdout: meta } = await run('mtype', ['-i', path, '::/openstack/latest/meta_data.json'], { env });
    assert.equal(JSON.parse(meta).name, 'web-1');
    await rm(path);
  });

  it('says which package to install when the writer is missing, and leaves nothing', async () => {
    const path = join(dir, 'missing.config');
    await assert.rejects(
      writeConfigDrive(files, path, { format: 'iso9660', mkisofsCmd: 'no-such-mkisofs' }),
      /no-such-mkisofs is not installed \(Debian packages: genisoimage/,
    );
    assert.deepEqual(await readdir(dir), ['disk.config']);
  });

  it('attaches an ISO as a read-only IDE CD-ROM and a vfat drive as a read-only virtio disk', () => {
    const spec = testGuestSpec();
    const drives = (s: GuestSpec) => {
      const args = qemuArguments(s, TEST_GUEST_FILES, TCG_MACHINE);
      return args.flatMap((a, i) => (a === '-drive' ? [args[i + 1]!] : []));
    };
    assert.equal(drives(spec).length, 1);
    const iso = drives({ ...spec, configDrive: { path: '/s/disk.config', format: 'iso9660' } });
    assert.equal(iso[1], 'file=/s/disk.config,format=raw,readonly=on,if=ide,index=3,media=cdrom');
    const vfat = drives({ ...spec, configDrive: { path: '/s/disk.config', format: 'vfat' } });
    assert.equal(vfat[1], 'file=/s/disk.config,format=raw,readonly=on,if=virtio');
  });
});
