/**
 * Server tags (2.26): the tag routes, tags in the server view and at create (2.52), the list filters,
 * and the refusals (version, state, limits, bad tags, other projects) that change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tagsOfInstance } from '../../../src/objects/instance-tags.ts';
import type { Instance } from '../../../src/objects/instances.ts';
import { addComputeHost, client, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;

before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'host1');
});
after(async () => {
  await h.close();
});

const V = '2.26';
const tagsUrl = (s: Instance) => `/v2.1/servers/${s.uuid}/tags`;
const tags = (s: Instance) => tagsOfInstance(h.database.db, s.uuid);

describe('the tag routes', () => {
  it('adds (201 with Location, then 204), checks, lists, replaces and removes tags', async () => {
    const server = await seedServer(h);
    const alice = client(h.app, 'alice', V);
    const added = await alice.put(`${tagsUrl(server)}/web`);
    assert.equal(added.statusCode, 201);
    assert.equal(added.headers['location'], `http://localhost:80/v2.1/servers/${server.uuid}/tags/web`);
    const again = await alice.put(`${tagsUrl(server)}/web`);
    assert.equal(again.statusCode, 204);
    assert.equal(again.headers['location'], undefined);
    // Nova writes the tag into Location as it is; only what a header cannot carry is percent-encoded.
    const spaced = await alice.put(`${tagsUrl(server)}/my%20tag`);
    assert.equal(spaced.statusCode, 201);
    assert.equal(spaced.headers['location'], `http://localhost:80/v2.1/servers/${server.uuid}/tags/my tag`);
    const accented = await alice.put(`${tagsUrl(server)}/caf%C3%A9`);
    assert.equal(accented.statusCode, 201);
    assert.equal(accented.headers['location'], `http://localhost:80/v2.1/servers/${server.uuid}/tags/caf%C3%A9`);
    assert.equal((await alice.delete(`${tagsUrl(server)}/my%20tag`)).statusCode, 204);
    assert.equal((await alice.delete(`${tagsUrl(server)}/caf%C3%A9`)).statusCode, 204);

    const has = await alice.get(`${tagsUrl(server)}/web`);
    assert.equal(has.statusCode, 204);
    const hasNot = await alice.get(`${tagsUrl(server)}/db`);
    assert.equal(hasNot.statusCode, 404);
    assert.equal(fault(hasNot).message, `Server ${server.uuid} has no tag 'db'`);

    const replaced = await alice.put(tagsUrl(server), { tags: ['prod', 'db', 'prod', 'a b'] });
    assert.equal(replaced.statusCode, 200);
    assert.deepEqual(replaced.json(), { tags: ['a b', 'db', 'prod'] });
    const listed = await alice.get(tagsUrl(server));
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(listed.json(), { tags: ['a b', 'db', 'prod'] });

    const removed = await alice.delete(`${tagsUrl(server)}/db`);
    assert.equal(removed.statusCode, 204);
    const gone = await alice.delete(`${tagsUrl(server)}/db`);
    assert.equal(gone.statusCode, 404);
    assert.equal(fault(gone).message, `Instance ${server.uuid} has no tag 'db'`);

    const cleared = await alice.delete(tagsUrl(server));
    assert.equal(cleared.statusCode, 204);
    assert.deepEqual(await tags(server), []);
  });

  it('shows the tags in the server view from 2.26, and in the list detail', async () => {
    const server = await seedServer(h, { name: 'viewed' });
    await client(h.app, 'alice', V).put(tagsUrl(server), { tags: ['b', 'a'] });
    const shown = (await client(h.app, 'alice', V).get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.deepEqual(shown.tags, ['a', 'b']);
    const before = (await client(h.app, 'alice', '2.25').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal('tags' in before, false);
    const detail = (await client(h.app, 'alice', V).get('/v2.1/servers/detail?name=^viewed$')).json().servers;
    assert.deepEqual(
      detail.map((s: { tags: string[] }) => s.tags),
      [['a', 'b']],
    );
    const updated = await client(h.app, 'alice', V).put(`/v2.1/servers/${server.uuid}`, { server: { name: 'viewed' } });
    assert.deepEqual(updated.json().server.tags, ['a', 'b']);
  });

  it('lets a locked server be tagged, by its owner too', async () => {
    const server = await seedServer(h, { state: { locked: 1, locked_by: 'admin' } });
    assert.equal((await client(h.app, 'alice', V).put(`${tagsUrl(server)}/x`)).statusCode, 201);
  });

  it('refuses servers in other states with 409, changing nothing', async () => {
    const server = await seedServer(h);
    await client(h.app, 'alice', V).put(tagsUrl(server), { tags: ['keep'] });
    const alice = client(h.app, 'alice', V);
    for (const vmState of ['building', 'error']) {
      await h.database.db.updateTable('instances').set({ vm_state: vmState }).where('uuid', '=', server.uuid).execute();
      const cases: [Promise<import('fastify').LightMyRequestResponse>, string][] = [
        [alice.put(`${tagsUrl(server)}/new`), 'update tag'],
        [alice.put(tagsUrl(server), { tags: ['new'] }), 'update tags'],
        [alice.delete(`${tagsUrl(server)}/keep`), 'delete tag'],
        [alice.delete(tagsUrl(server)), 'delete tags'],
      ];
      for (const [pending, what] of cases) {
        const res = await pending;
        assert.equal(res.statusCode, 409);
        assert.equal(fault(res).message, `Cannot '${what}' instance ${server.uuid} while it is in vm_state ${vmState}`);
      }
      // Reading is allowed in any state.
      assert.deepEqual((await alice.get(tagsUrl(server))).json(), { tags: ['keep'] });
    }
    assert.deepEqual(await tags(server), ['keep']);
  });

  it('refuses bad tags and bodies (400) and more than 50 tags, changing nothing', async () => {
    const server = await seedServer(h);
    const alice = client(h.app, 'alice', V);
    await alice.put(tagsUrl(server), { tags: ['keep'] });
    for (const body of [
      { tags: ['a,b'] },
      { tags: ['a/b'] },
      { tags: [''] },
      { tags: ['x'.repeat(61)] },
      { tags: [1] },
      { tags: 'a' },
      { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) },
      { tags: [], extra: 1 },
      {},
    ]) {
      const res = await alice.put(tagsUrl(server), body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(fault(res).name, 'badRequest');
    }
    for (const tag of ['a,b', 'a%2Fb', 'x'.repeat(61)]) {
      const res = await alice.put(`${tagsUrl(server)}/${tag}`);
      assert.equal(res.statusCode, 400, tag);
      assert.match(fault(res).message, /^Tag '.*' is invalid/);
    }
    const withBody = await alice.put(`${tagsUrl(server)}/fine`, { tag: 'fine' });
    assert.equal(withBody.statusCode, 400);
    assert.deepEqual(await tags(server), ['keep']);

    const fifty = Array.from({ length: 50 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    assert.equal((await alice.put(tagsUrl(server), { tags: fifty })).statusCode, 200);
    const over = await alice.put(`${tagsUrl(server)}/one-more`);
    assert.equal(over.statusCode, 400);
    assert.equal(fault(over).message, 'The number of tags exceeded the per-server limit 50');
    assert.deepEqual(await tags(server), fifty);
  });

  it('answers 404 below 2.26, for other projects and unknown servers', async () => {
    const server = await seedServer(h);
    assert.equal((await client(h.app, 'alice', '2.25').get(tagsUrl(server))).statusCode, 404);
    assert.equal((await client(h.app, 'alice', '2.25').put(`${tagsUrl(server)}/x`)).statusCode, 404);
    for (const res of [
      await client(h.app, 'bob', V).get(tagsUrl(server)),
      await client(h.app, 'bob', V).put(`${tagsUrl(server)}/x`),
      await client(h.app, 'bob', V).put(tagsUrl(server), { tags: ['x'] }),
      await client(h.app, 'bob', V).delete(tagsUrl(server)),
      await client(h.app, 'alice', V).get('/v2.1/servers/00000000-0000-0000-0000-000000000000/tags'),
    ]) {
      assert.equal(res.statusCode, 404);
    }
    assert.deepEqual(await tags(server), []);
    // An admin may tag any project's server.
    assert.equal((await client(h.app, 'admin', V).put(`${tagsUrl(server)}/x`)).statusCode, 201);
  });
});

describe('tags at create (2.52)', () => {
  it('records the tags of every server of the request', async () => {
    const body = (extra: Record<string, unknown>) => ({
      server: { name: 'tagged', imageRef: h.cirros.id, flavorRef: '1', networks: 'none', ...extra },
    });
    const res = await client(h.app, 'alice', '2.52').post(
      '/v2.1/servers',
      body({ tags: ['web', 'web', 'prod'], min_count: 2 }),
    );
    assert.equal(res.statusCode, 202);
    const created = await h.database.db
      .selectFrom('instances')
      .select('uuid')
      .where('display_name', 'like', 'tagged-%')
      .execute();
    assert.equal(created.length, 2);
    for (const { uuid } of created) {
      assert.deepEqual(await tagsOfInstance(h.database.db, uuid), ['prod', 'web']);
    }
    const before = await h.database.db.selectFrom('instances').select('uuid').execute();
    for (const [version, extra] of [
      ['2.51', { tags: ['web'] }],
      ['2.52', { tags: ['a/b'] }],
      ['2.52', { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }],
    ] as const) {
      const refused = await client(h.app, 'alice', version).post('/v2.1/servers', body(extra));
      assert.equal(refused.statusCode, 400, `${version} ${JSON.stringify(extra)}`);
    }
    assert.equal((await h.database.db.selectFrom('instances').select('uuid').execute()).length, before.length);
  });
});

describe('the list filters', () => {
  it('selects by tags, tags-any, not-tags and not-tags-any from 2.26', async () => {
    const names = ['f-a', 'f-b', 'f-c', 'f-d'];
    const layout: Record<string, string[]> = { 'f-a': ['web', 'prod'], 'f-b': ['web'], 'f-c': ['db', 'prod'] };
    for (const name of names) {
      const server = await seedServer(h, { name, project: 'cccccccccccccccccccccccccccccccc' });
      await client(h.app, 'admin', V).put(tagsUrl(server), { tags: layout[name] ?? [] });
    }
    const list = async (query: string, version = V) => {
      const res = await client(h.app, 'admin', version).get(
        `/v2.1/servers?all_tenants=1&project_id=cccccccccccccccccccccccccccccccc&${query}`,
      );
      assert.equal(res.statusCode, 200);
      return (res.json().servers as { name: string }[]).map((s) => s.name).sort();
    };
    assert.deepEqual(await list('tags=web,prod'), ['f-a']);
    assert.deepEqual(await list('tags-any=db,web'), ['f-a', 'f-b', 'f-c']);
    assert.deepEqual(await list('not-tags=web,prod'), ['f-b', 'f-c', 'f-d']);
    assert.deepEqual(await list('not-tags-any=web,db'), ['f-d']);
    assert.deepEqual(await list('tags-any=prod&not-tags=db'), ['f-a']);
    assert.deepEqual(await list('tags=nothing&tags=web'), ['f-a', 'f-b'], 'the last value counts');
    assert.deepEqual(await list('tags=web', '2.25'), names, 'ignored before 2.26');
    const detail = await client(h.app, 'admin', V).get(
      '/v2.1/servers/detail?all_tenants=1&project_id=cccccccccccccccccccccccccccccccc&tags=db',
    );
    assert.deepEqual(
      (detail.json().servers as { name: string; tags: string[] }[]).map((s) => [s.name, s.tags]),
      [['f-c', ['db', 'prod']]],
    );
  });
});
