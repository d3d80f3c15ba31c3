/**
 * The image cache against an image API over real HTTP (a stub) and the real qemu-img: one download for
 * concurrent builds, formats checked and converted, corrupt data refused with nothing left behind, and
 * the age-out keeping what guests use.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ImageChecksumMismatch, ImageClient } from '../../../../src/compute/image/image-client.ts';
import { ImageCache, ImageUnacceptable } from '../../../../src/compute/virt/qemu/image-cache.ts';
import { QemuImg } from '../../../../src/compute/virt/qemu/qemu-img.ts';
import { startImageApiStub, type ImageApiStub } from '../../../helpers/image-api-stub.ts';

const run = promisify(execFile);
const qemuImg = new QemuImg();

let stub: ImageApiStub;
let work: string;
let files: string;

before(async () => {
  stub = await startImageApiStub();
  work = await mkdtemp(join(tmpdir(), 'stratus-image-cache-'));
  files = join(work, 'files');
  await run('mkdir', ['-p', files]);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', join(files, 'disk.qcow2'), '64M']);
  await run('qemu-img', ['create', '-q', '-f', 'vmdk', join(files, 'disk.vmdk'), '16M']);
  await writeFile(join(files, 'raw.img'), Buffer.alloc(1 << 20, 3));
});
after(async () => {
  await stub.close();
  await rm(work, { recursive: true, force: true });
});

function newCache(name: string): ImageCache {
  return new ImageCache(join(work, name, '_base'), new ImageClient(stub.tokens, []), qemuImg);
}

async function cacheFiles(cache: ImageCache): Promise<string[]> {
  return readdir(cache.directory).catch(() => []);
}

describe('image cache', () => {
  it('downloads an image once for concurrent builds and reuses it after', async () => {
    stub.add({ id: 'img-qcow2', diskFormat: 'qcow2', file: join(files, 'disk.qcow2') });
    const cache = newCache('concurrent');
    const results = await Promise.all([1, 2, 3, 4].map(() => cache.disk('img-qcow2')));
    assert.equal(stub.downloads.get('img-qcow2'), 1);
    assert.equal(new Set(results.map((r) => r.path)).size, 1);
    assert.equal(results[0]!.format, 'qcow2');
    assert.match(results[0]!.path, /img-qcow2-[0-9a-f]{32}\.qcow2$/);
    await cache.disk('img-qcow2');
    assert.equal(stub.downloads.get('img-qcow2'), 1);
    assert.deepEqual(await cacheFiles(cache), [results[0]!.path.split('/').pop()]);
  });

  it('pre-caches an image once: downloaded the first time, already held after, shared with builds', async () => {
    stub.add({ id: 'img-warm', diskFormat: 'qcow2', file: join(files, 'disk.qcow2') });
    const cache = newCache('warm');
    assert.equal(await cache.preload('img-warm'), true);
    assert.equal(await cache.preload('img-warm'), false);
    const built = await cache.disk('img-warm');
    assert.equal(stub.downloads.get('img-warm'), 1, 'the build used the pre-cached file');
    assert.deepEqual(await cacheFiles(cache), [built.path.split('/').pop()]);
  });

  it('pre-caching checks the image as a build would, keeping nothing it refuses', async () => {
    stub.add({ id: 'img-warm-vmdk-lie', diskFormat: 'qcow2', file: join(files, 'disk.vmdk') });
    const cache = newCache('warm-refused');
    await assert.rejects(cache.preload('img-warm-vmdk-lie'), ImageUnacceptable);
    assert.deepEqual(await cacheFiles(cache), []);
  });

  it('probes the virtual size of a cached disk once, however many builds ask', async () => {
    stub.add({ id: 'img-sized', diskFormat: 'qcow2', file: join(files, 'disk.qcow2') });
    let probes = 0;
    const counting = new (class extends QemuImg {
      override info(path: string) {
        probes++;
        return super.info(path);
      }
    })();
    const cache = new ImageCache(join(work, 'sized', '_base'), new ImageClient(stub.tokens, []), counting);
    const cached = await cache.disk('img-sized');
    const before = probes; // the download's own format check
    const sizes = await Promise.all([1, 2, 3].map(() => cache.virtualSize(cached)));
    assert.deepEqual(sizes, [64 << 20, 64 << 20, 64 << 20]);
    assert.ok(probes - before <= 3);
    assert.equal(await cache.virtualSize(cached), 64 << 20);
    const settled = probes;
    await cache.virtualSize(await cache.disk('img-sized'));
    assert.equal(probes, settled, 'a later build reads the remembered size');
  });

  it('converts a vmdk image to qcow2 and keeps only the converted file', async () => {
    stub.add({ id: 'img-vmdk', diskFormat: 'vmdk', file: join(files, 'disk.vmdk') });
    const cache = newCache('vmdk');
    const cached = await cache.disk('img-vmdk');
    assert.equal(cached.format, 'qcow2');
    assert.equal((await qemuImg.info(cached.path)).format, 'qcow2');
    assert.equal((await cacheFiles(cache)).length, 1);
  });

  it('refuses data that does not match the recorded checksum, keeping nothing', async () => {
    stub.add({ id: 'img-corrupt', diskFormat: 'raw', file: join(files, 'raw.img'), checksum: '0'.repeat(32) });
    const cache = newCache('corrupt');
    await assert.rejects(cache.disk('img-corrupt'), (err: Error) => {
      assert.ok(err instanceof ImageChecksumMismatch);
      assert.match(err.message, /image img-corrupt is corrupt: its data has checksum [0-9a-f]{32}/);
      return true;
    });
    assert.deepEqual(await cacheFiles(cache), []);
  });

  it('refuses an image whose data is not its declared format, keeping nothing', async () => {
    stub.add({ id: 'img-liar', diskFormat: 'qcow2', file: join(files, 'raw.img') });
    const cache = newCache('liar');
    await assert.rejects(cache.disk('img-liar'), (err: Error) => {
      assert.ok(err instanceof ImageUnacceptable);
      assert.match(err.message, /declares disk_format qcow2 but its data is raw/);
      return true;
    });
    assert.deepEqual(await cacheFiles(cache), []);
  });

  it('refuses a disk format the driver cannot boot before downloading it', async () => {
    stub.add({ id: 'img-ploop', diskFormat: 'ploop', file: join(files, 'raw.img') });
    const cache = newCache('ploop');
    await assert.rejects(cache.disk('img-ploop'), /disk_format 'ploop', which the qemu driver cannot boot/);
    assert.equal(stub.downloads.get('img-ploop'), undefined);
  });

  it('refuses a kernel id that names a disk image', async () => {
    stub.add({ id: 'img-not-kernel', diskFormat: 'raw', file: join(files, 'raw.img') });
    await assert.rejects(
      newCache('aki').bootFile('img-not-kernel', 'aki'),
      /named as the kernel \(disk_format aki\) but its disk_format is raw/,
    );
  });

  it('ages out unused images older than the minimum age, keeping used and recent ones', async () => {
    stub.add({ id: 'img-a', diskFormat: 'raw', file: join(files, 'raw.img') });
    stub.add({ id: 'img-b', diskFormat: 'qcow2', file: join(files, 'disk.qcow2') });
    stub.add({ id: 'img-c', diskFormat: 'vmdk', file: join(files, 'disk.vmdk') });
    const cache = newCache('age');
    const [a, b, c] = await Promise.all([cache.disk('img-a'), cache.disk('img-b'), cache.disk('img-c')]);
    const old = new Date(Date.now() - 7200_000);
    for (const path of [a.path, b.path]) await utimes(path, old, old);
    const removed = await cache.removeUnused(new Set([b.path]), 3600);
    assert.deepEqual(removed, [a.path]);
    assert.deepEqual((await cacheFiles(cache)).sort(), [b.path, c.path].map((p) => p.split('/').pop()).sort());
  });
});
