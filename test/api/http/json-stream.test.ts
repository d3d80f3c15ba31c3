import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { listBody } from '../../../src/api/http/json-stream.ts';

const view = (n: number) => ({ id: n, name: `server "${n}"\n`, tags: [n % 3 === 0 ? null : 'x'] });
const views = (slice: readonly number[]) => slice.map(view);

async function asJson(body: Record<string, unknown> | Readable): Promise<unknown> {
  return body instanceof Readable ? JSON.parse(await text(body)) : body;
}

describe('listBody', () => {
  it('sends a short list as a plain object', async () => {
    const body = await listBody('servers', [1, 2, 3], views, { servers_links: [] });
    assert.ok(!(body instanceof Readable));
    assert.deepEqual(body, { servers: [1, 2, 3].map(view), servers_links: [] });
  });

  it('streams a long list as the same JSON, whatever the slice boundaries', async () => {
    for (const count of [100, 101, 149, 150, 151, 1000]) {
      const items = Array.from({ length: count }, (_, i) => i);
      const links = [{ rel: 'next', href: 'http://x/servers?marker=9' }];
      const body = await listBody('servers', items, views, { servers_links: links });
      assert.ok(body instanceof Readable, `${count} items are streamed`);
      assert.deepEqual(await asJson(body), { servers: items.map(view), servers_links: links });
    }
  });

  it('streams a long list without extra members', async () => {
    const items = Array.from({ length: 120 }, (_, i) => i);
    assert.deepEqual(await asJson(await listBody('flavors', items, views)), { flavors: items.map(view) });
  });

  it('asks for the views one slice at a time, as the stream is read', async () => {
    const items = Array.from({ length: 230 }, (_, i) => i);
    const asked: number[] = [];
    const body = await listBody('servers', items, async (slice) => {
      asked.push(slice.length);
      await new Promise((resolve) => setImmediate(resolve));
      return views(slice);
    });
    assert.deepEqual(asked, [50], 'only the first slice before the stream is read');
    assert.deepEqual(await asJson(body), { servers: items.map(view) });
    assert.deepEqual(asked, [50, 50, 50, 50, 30]);
  });

  it('leaves out the records of a slice that came back empty, with valid JSON', async () => {
    const items = Array.from({ length: 200 }, (_, i) => i);
    // Slices 0 and 2 went away between reading the keys and reading the records.
    const gone = (n: number) => n < 50 || (n >= 100 && n < 150);
    const body = await listBody('servers', items, (slice) => views(slice.filter((n) => !gone(n))));
    assert.deepEqual(await asJson(body), { servers: items.filter((n) => !gone(n)).map(view) });
  });

  it('fails before streaming when the first slice fails, so the error is still an error response', async () => {
    const items = Array.from({ length: 200 }, (_, i) => i);
    await assert.rejects(
      listBody('servers', items, () => Promise.reject(new Error('database down'))),
      /database down/,
    );
  });

  it('ends the stream with the error of a later slice, and leaves no unhandled rejection when abandoned', async () => {
    const items = Array.from({ length: 300 }, (_, i) => i);
    const failing = (slice: readonly number[]) =>
      slice[0] === 150 ? Promise.reject(new Error('database went away')) : views(slice);
    await assert.rejects(text((await listBody('servers', items, failing)) as Readable), /database went away/);

    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      // Slices bigger than the stream's buffer, so that it reads one ahead and then waits for the client.
      const big = (slice: readonly number[]) => slice.map((n) => ({ id: n, name: 'x'.repeat(400) }));
      const lateFailure = (slice: readonly number[]) =>
        slice[0] === 100
          ? new Promise<never>((_, reject) => setTimeout(() => reject(new Error('database went away')), 30))
          : big(slice);
      const body = (await listBody('servers', items, lateFailure)) as Readable;
      const chunks = body[Symbol.asyncIterator]();
      await chunks.next();
      // The stream has now read the second slice and is reading the third ahead; the client goes away.
      await new Promise((resolve) => setTimeout(resolve, 10));
      body.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
