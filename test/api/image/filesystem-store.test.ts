/** The filesystem image store on its own: atomic writes, digests, the size cap, and location checks. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { FilesystemImageStore } from '../../../src/api/image/store/filesystem-store.ts';

let root: string;
let dir: string;
let store: FilesystemImageStore;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'stratus-store-test-'));
  dir = join(root, 'not', 'yet', 'there');
  store = new FilesystemImageStore(dir);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('FilesystemImageStore', () => {
  it('creates its directory, writes the data under the image id and reports digests', async () => {
    const stored = await store.put(Readable.from([Buffer.from('hello '), Buffer.from('world')]), {
      imageId: 'img-1',
      maxSize: 100,
    });
    assert.equal(stored.size, 11);
    assert.equal(stored.checksum, createHash('md5').update('hello world').digest('hex'));
    assert.equal(stored.hash, createHash('sha512').update('hello world').digest('hex'));
    assert.equal(stored.hashAlgo, 'sha512');
    assert.equal(stored.location, `file://${dir}/img-1`);
    assert.deepEqual(await readdir(dir), ['img-1']);
    assert.equal(await text(await store.get(stored.location)), 'hello world');
    await store.delete(stored.location);
    await store.delete(stored.location); // already gone: fine
    assert.deepEqual(await readdir(dir), []);
    await assert.rejects(store.get(stored.location), { status: 404 });
  });

  it('leaves nothing behind when the data is over the cap or the source fails', async () => {
    await assert.rejects(
      store.put(Readable.from([Buffer.alloc(60), Buffer.alloc(60)]), { imageId: 'img-2', maxSize: 100 }),
      {
        status: 413,
      },
    );
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(10));
        this.destroy(new Error('client went away'));
      },
    });
    await assert.rejects(store.put(failing, { imageId: 'img-3', maxSize: 100 }), /client went away/);
    assert.deepEqual(await readdir(dir), []);
  });

  it('refuses ids that are not plain file names and locations outside its directory', async () => {
    await assert.rejects(store.put(Readable.from([]), { imageId: '../escape', maxSize: 10 }), { status: 400 });
    await assert.rejects(store.get('file:///etc/passwd'), { status: 404 });
    await assert.rejects(store.get(`file://${dir}/../../outside`), { status: 404 });
    await assert.rejects(store.get('http://example.com/x'), { status: 404 });
  });
});
