/**
 * The image API on MariaDB and PostgreSQL: the listing's SQL (visibility, tag and property filters, sort
 * keys with NULLs, keyset pages) must give the same answers as on SQLite. Needs both servers running
 * (see test/helpers/database.ts); the full suites run on them with STRATUS_TEST_IMAGE_DIALECT=mysql|postgres.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { client, startImageApi } from './helpers.ts';

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`image API on ${dialect}`, () => {
    it('creates, filters, sorts with NULLs, pages, patches, uploads and deletes', async () => {
      const h = await startImageApi({ dialect });
      try {
        const alice = client(h.app, 'alice');
        const a = await alice.create({
          name: 'alpha',
          disk_format: 'raw',
          container_format: 'bare',
          tags: ['t'],
          os_distro: 'x',
        });
        const b = await alice.create({ disk_format: 'qcow2', container_format: 'bare' }); // no name: sorts as ''
        const c = await alice.create({ name: 'gamma', tags: ['t'], visibility: 'private' });
        assert.equal((await alice.put(`/v2/images/${a.id}/file`, Buffer.from('0123456789'))).statusCode, 204);

        const walk = async (url: string) => {
          const ids: unknown[] = [];
          for (let next: string | undefined = url; next;) {
            const body: { images: { id: string }[]; next?: string } = (await alice.get(next)).json();
            ids.push(...body.images.map((i) => i.id));
            next = body.next;
          }
          return ids;
        };
        assert.deepEqual(await walk('/v2/images?limit=1&sort=name:asc'), [b.id, a.id, c.id]);
        assert.deepEqual(await walk('/v2/images?limit=2&sort=size:desc,name:desc'), [a.id, c.id, b.id]);
        const ids = async (query: string) =>
          (await alice.get(`/v2/images?sort=name:asc&${query}`)).json().images.map((i: { id: string }) => i.id);
        assert.deepEqual(await ids('tag=t'), [a.id, c.id]);
        assert.deepEqual(await ids('os_distro=x'), [a.id]);
        assert.deepEqual(await ids('visibility=private'), [c.id]);
        assert.deepEqual(await ids('size_min=5'), [a.id]);

        const patched = await alice.patch(`/v2/images/${b.id}`, [
          { op: 'add', path: '/name', value: 'beta' },
          { op: 'add', path: '/tags', value: ['u', 'v'] },
          { op: 'add', path: '/k', value: 'v' },
        ]);
        assert.equal(patched.statusCode, 200, patched.body);
        assert.deepEqual(patched.json().tags, ['u', 'v']);
        assert.equal((await alice.get(`/v2/images/${a.id}/file`)).body, '0123456789');
        for (const image of [a, b, c]) assert.equal((await alice.delete(`/v2/images/${image.id}`)).statusCode, 204);
        assert.deepEqual(await ids(''), []);
        assert.deepEqual(await h.storeFiles(), []);
      } finally {
        await h.close();
      }
    });
  });
}
