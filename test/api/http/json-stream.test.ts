import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { listBody } from '../../../src/api/http/json-stream.ts';

const view = (n: number) => ({ id: n, name: `server "${n}"\n`, tags: [n % 3 === 0 ? null : 'x'] });

async function asJson(body: Record<string, unknown> | Readable): Promise<unknown> {
  return body instanceof Readable ? JSON.parse(await text(body)) : body;
}

describe('listBody', () => {
  it('sends a short list as a plain object', () => {
    const body = listBody('servers', [1, 2, 3], view, { servers_links: [] });
    assert.ok(!(body instanceof Readable));
    assert.deepEqual(body, { servers: [1, 2, 3].map(view), servers_links: [] });
  });

  it('streams a long list as the same JSON, whatever the slice boundaries', async () => {
    for (const count of [100, 101, 149, 150, 151, 1000]) {
      const items = Array.from({ length: count }, (_, i) => i);
      const links = [{ rel: 'next', href: 'http://x/servers?marker=9' }];
      const body = listBody('servers', items, view, { servers_links: links });
      assert.ok(body instanceof Readable, `${count} items are streamed`);
      assert.deepEqual(await asJson(body), { servers: items.map(view), servers_links: links });
    }
  });

  it('streams a long list without extra members', async () => {
    const items = Array.from({ length: 120 }, (_, i) => i);
    assert.deepEqual(await asJson(listBody('flavors', items, view)), { flavors: items.map(view) });
  });
});
