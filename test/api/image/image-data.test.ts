/** Image data: upload and download through the API, checksums, status changes, and failed uploads. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { client, startImageApi, TOKENS, type ImageApiHarness } from './helpers.ts';

const SIZE_CAP = 256 * 1024;

let h: ImageApiHarness;
let baseUrl: string;
before(async () => {
  h = await startImageApi({ sizeCap: SIZE_CAP });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await h.close();
});

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
const sha512 = (data: Buffer) => createHash('sha512').update(data).digest('hex');

async function statusOf(id: string): Promise<string> {
  return (await client(h.app, 'alice').get(`/v2/images/${id}`)).json().status;
}

async function waitForStatus(id: string, status: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await statusOf(id)) === status) return;
    await sleep(10);
  }
  assert.fail(`image ${id} never reached ${status} (is ${await statusOf(id)})`);
}

/** A real HTTP upload that sends `chunks` (without Content-Length unless given) and returns the response. */
function httpUpload(id: string, chunks: Buffer[], contentLength?: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      'x-auth-token': TOKENS.alice,
      'content-type': 'application/octet-stream',
    };
    if (contentLength !== undefined) headers['content-length'] = String(contentLength);
    const req = request(`${baseUrl}/v2/images/${id}/file`, { method: 'PUT', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('image data', () => {
  it('refuses data for an image without disk or container format, as Glance does, leaving it queued', async () => {
    const alice = client(h.app, 'alice');
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'no-formats' }, 'Properties disk_format, container_format must be set prior to saving data.'],
      [{ name: 'no-disk', container_format: 'bare' }, 'Property disk_format must be set prior to saving data.'],
      [{ name: 'no-container', disk_format: 'raw' }, 'Property container_format must be set prior to saving data.'],
    ];
    for (const [body, message] of cases) {
      const image = (await alice.create(body)) as { id: string };
      const put = await alice.put(`/v2/images/${image.id}/file`, randomBytes(1000));
      assert.equal(put.statusCode, 400, put.body);
      assert.equal(put.json().message, message);
      assert.equal(await statusOf(image.id), 'queued');
    }
  });

  it('round-trips data with md5 checksum, sha512 multihash, size and status queued → active', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'data', disk_format: 'raw', container_format: 'bare' });
    const data = randomBytes(100_000);
    const put = await alice.put(`/v2/images/${image.id}/file`, data);
    assert.equal(put.statusCode, 204, put.body);
    assert.equal(put.body, '');

    const shown = (await alice.get(`/v2/images/${image.id}`)).json();
    assert.equal(shown.status, 'active');
    assert.equal(shown.size, data.length);
    assert.equal(shown.virtual_size, data.length);
    assert.equal(shown.checksum, md5(data));
    assert.equal(shown.os_hash_algo, 'sha512');
    assert.equal(shown.os_hash_value, sha512(data));

    const got = await alice.get(`/v2/images/${image.id}/file`);
    assert.equal(got.statusCode, 200);
    assert.equal(got.headers['content-type'], 'application/octet-stream');
    assert.equal(got.headers['content-md5'], md5(data));
    assert.equal(Number(got.headers['content-length']), data.length);
    assert.ok(got.rawPayload.equals(data));
    assert.deepEqual(await h.storeFiles(), [image.id]);

    assert.equal((await alice.delete(`/v2/images/${image.id}`)).statusCode, 204);
    assert.deepEqual(await h.storeFiles(), [], 'deleting the image removes its data');
  });

  it('reads the virtual size from a qcow2 header', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'qcow', disk_format: 'qcow2', container_format: 'bare' });
    const header = Buffer.alloc(4096);
    header.writeUInt32BE(0x514649fb, 0);
    header.writeUInt32BE(3, 4);
    header.writeBigUInt64BE(10n * 1024n ** 3n, 24);
    assert.equal((await alice.put(`/v2/images/${image.id}/file`, header)).statusCode, 204);
    assert.equal((await alice.get(`/v2/images/${image.id}`)).json().virtual_size, 10 * 1024 ** 3);
    await alice.delete(`/v2/images/${image.id}`);
  });

  it('streams a chunked upload and download over real HTTP', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'chunked', disk_format: 'raw', container_format: 'bare' });
    const chunks = Array.from({ length: 20 }, () => randomBytes(10_000));
    const res = await httpUpload(String(image.id), chunks);
    assert.equal(res.status, 204, res.body);
    const whole = Buffer.concat(chunks);
    const got = await fetch(`${baseUrl}/v2/images/${image.id}/file`, { headers: { 'x-auth-token': TOKENS.alice } });
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(whole));
    assert.equal(got.headers.get('content-md5'), md5(whole));
    await alice.delete(`/v2/images/${image.id}`);
  });

  it('answers 204 for an image without data, and 409 to a second upload', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'empty', disk_format: 'raw', container_format: 'bare' });
    const none = await alice.get(`/v2/images/${image.id}/file`);
    assert.equal(none.statusCode, 204);
    assert.equal(none.body, '');
    assert.equal((await alice.put(`/v2/images/${image.id}/file`, Buffer.from('first'))).statusCode, 204);
    const again = await alice.put(`/v2/images/${image.id}/file`, Buffer.from('second'));
    assert.equal(again.statusCode, 409);
    assert.match(again.json().message, /active/);
    assert.equal((await alice.get(`/v2/images/${image.id}/file`)).body, 'first');
    await alice.delete(`/v2/images/${image.id}`);
  });

  it('refuses an oversized upload with 413, announced or not, leaving the image queued and no file', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'too-big', disk_format: 'raw', container_format: 'bare' });
    const url = `/v2/images/${image.id}/file`;
    const declared = await alice.put(url, randomBytes(SIZE_CAP + 1));
    assert.equal(declared.statusCode, 413, declared.body);
    assert.match(declared.json().message, /too large/);
    assert.equal(await statusOf(String(image.id)), 'queued');

    // Chunked, so the server only finds out while streaming.
    const streamed = await httpUpload(
      String(image.id),
      Array.from({ length: 40 }, () => randomBytes(10_000)),
    );
    assert.equal(streamed.status, 413, streamed.body);
    assert.equal(await statusOf(String(image.id)), 'queued');
    assert.deepEqual(await h.storeFiles(), []);

    // The image is still usable.
    assert.equal((await alice.put(url, Buffer.from('small enough'))).statusCode, 204);
    await alice.delete(`/v2/images/${image.id}`);
  });

  it('puts the image back to queued and removes the partial file when the client aborts', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'aborted', disk_format: 'raw', container_format: 'bare' });
    const req = request(`${baseUrl}/v2/images/${image.id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': TOKENS.alice, 'content-type': 'application/octet-stream', 'content-length': '200000' },
    });
    req.on('error', () => undefined);
    try {
      req.write(randomBytes(50_000));
      await waitForStatus(String(image.id), 'saving');
      // The status is saved before the store opens its file: under load the file can come a little later.
      let partial = await h.storeFiles();
      for (let i = 0; i < 200 && partial.length === 0; i++) {
        await sleep(10);
        partial = await h.storeFiles();
      }
      assert.equal(partial.length, 1);
      assert.match(partial[0] ?? '', /\.part$/, 'data goes to a temporary file first');
    } finally {
      // Also on failure: an upload left open would keep the server from closing, hanging the whole run.
      req.destroy();
    }
    await waitForStatus(String(image.id), 'queued');
    for (let i = 0; i < 100 && (await h.storeFiles()).length > 0; i++) await sleep(10);
    assert.deepEqual(await h.storeFiles(), []);
    assert.equal((await alice.put(`/v2/images/${image.id}/file`, Buffer.from('retry'))).statusCode, 204);
    await alice.delete(`/v2/images/${image.id}`);
  });

  it('refuses uploads in another media type, and by a project that does not own the image', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({
      name: 'media',
      disk_format: 'raw',
      container_format: 'bare',
      visibility: 'community',
    });
    const url = `/v2/images/${image.id}/file`;
    const text = await h.app.inject({
      method: 'PUT',
      url,
      headers: { 'x-auth-token': TOKENS.alice, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    assert.equal(text.statusCode, 415);
    const bob = await client(h.app, 'bob').put(url, Buffer.from('not yours'));
    assert.equal(bob.statusCode, 403);
    assert.equal(await statusOf(String(image.id)), 'queued');
    const missing = await alice.put('/v2/images/00000000-0000-0000-0000-000000000000/file', Buffer.from('x'));
    assert.equal(missing.statusCode, 404);
    await alice.delete(`/v2/images/${image.id}`);
  });
});
