/** Who sees and touches which image, between two projects and an admin (Glance's default policy). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { userContext } from '../../../src/common/context.ts';
import { client, PROJECT_A, PROJECT_B, startImageApi, type ImageApiHarness } from './helpers.ts';

let h: ImageApiHarness;
const ids: Record<string, string> = {};

before(async () => {
  h = await startImageApi();
  const alice = client(h.app, 'alice');
  const admin = client(h.app, 'admin');
  for (const visibility of ['private', 'shared', 'community'] as const) {
    ids[`a-${visibility}`] = String((await alice.create({ name: `a-${visibility}`, visibility })).id);
  }
  ids['public'] = String((await admin.create({ name: 'public', visibility: 'public' })).id);
  ids['b-private'] = String((await client(h.app, 'bob').create({ name: 'b-private', visibility: 'private' })).id);
});
after(async () => {
  await h.close();
});

const listNames = async (who: 'alice' | 'bob' | 'admin', query = '') =>
  ((await client(h.app, who).get(`/v2/images?sort=name:asc${query}`)).json().images as { name: string }[]).map(
    (i) => i.name,
  );

describe('visibility', () => {
  it('lists own, public (and, for the owner, community) images; others’ community ones only on request', async () => {
    assert.deepEqual(await listNames('alice'), ['a-community', 'a-private', 'a-shared', 'public']);
    assert.deepEqual(await listNames('bob'), ['b-private', 'public']);
    assert.deepEqual(await listNames('bob', '&visibility=community'), ['a-community']);
    assert.deepEqual(await listNames('bob', '&visibility=all'), ['a-community', 'b-private', 'public']);
    assert.deepEqual(await listNames('bob', '&visibility=private'), ['b-private']);
    assert.deepEqual(await listNames('bob', `&owner=${PROJECT_A}`), []);
  });

  it('lets an admin list everything', async () => {
    assert.deepEqual(await listNames('admin', '&visibility=all'), [
      'a-community',
      'a-private',
      'a-shared',
      'b-private',
      'public',
    ]);
    assert.deepEqual(await listNames('admin', '&visibility=private'), ['a-private', 'b-private']);
  });

  it('shows public and community images to everyone, private and shared ones to the owner only', async () => {
    const bob = client(h.app, 'bob');
    assert.equal((await bob.get(`/v2/images/${ids['public']}`)).statusCode, 200);
    assert.equal((await bob.get(`/v2/images/${ids['a-community']}`)).statusCode, 200);
    assert.equal((await bob.get(`/v2/images/${ids['a-private']}`)).statusCode, 404);
    assert.equal((await bob.get(`/v2/images/${ids['a-shared']}`)).statusCode, 404);
    assert.equal((await bob.get(`/v2/images/${ids['a-private']}/file`)).statusCode, 404);
    assert.equal((await client(h.app, 'admin').get(`/v2/images/${ids['b-private']}`)).statusCode, 200);
    // A marker the caller cannot see is refused like an unknown one.
    assert.equal((await bob.get(`/v2/images?marker=${ids['a-private']}`)).statusCode, 400);
  });

  it('lets only the owner or an admin change or delete an image', async () => {
    const bob = client(h.app, 'bob');
    const rename = [{ op: 'replace', path: '/name', value: 'mine now' }];
    assert.equal((await bob.patch(`/v2/images/${ids['a-community']}`, rename)).statusCode, 403);
    assert.equal((await bob.delete(`/v2/images/${ids['a-community']}`)).statusCode, 403);
    assert.equal((await bob.patch(`/v2/images/${ids['a-private']}`, rename)).statusCode, 404);
    assert.equal((await bob.delete(`/v2/images/${ids['a-private']}`)).statusCode, 404);
    assert.equal((await client(h.app, 'alice').patch(`/v2/images/${ids['public']}`, rename)).statusCode, 403);
    assert.equal((await client(h.app, 'alice').get(`/v2/images/${ids['a-community']}`)).json().name, 'a-community');

    const admin = client(h.app, 'admin');
    const moved = await admin.patch(`/v2/images/${ids['a-shared']}`, [
      { op: 'replace', path: '/owner', value: PROJECT_B },
    ]);
    assert.equal(moved.statusCode, 200);
    assert.equal(moved.json().owner, PROJECT_B);
    assert.equal((await bob.get(`/v2/images/${ids['a-shared']}`)).statusCode, 200);
    assert.equal((await client(h.app, 'alice').get(`/v2/images/${ids['a-shared']}`)).statusCode, 404);
  });

  it('only lets an admin publicize an image or create one for another project', async () => {
    const alice = client(h.app, 'alice');
    assert.equal((await alice.post('/v2/images', { name: 'pub', visibility: 'public' })).statusCode, 403);
    const admin = client(h.app, 'admin');
    const forB = await admin.create({ name: 'for-b', owner: PROJECT_B });
    assert.equal(forB.owner, PROJECT_B);
    assert.equal((await client(h.app, 'bob').get(`/v2/images/${forB.id}`)).statusCode, 200);
  });

  it('applies the same rules to callers of the repository (the compute API)', async () => {
    const bobCtx = userContext({ userId: 'bob', projectId: PROJECT_B, roles: ['member'] });
    assert.equal(await h.images.findVisible(bobCtx, ids['a-private'] ?? ''), null);
    await assert.rejects(h.images.get(bobCtx, ids['a-private'] ?? ''), { status: 404 });
    assert.equal((await h.images.get(bobCtx, ids['public'] ?? '')).name, 'public');
    const data = await h.images.openData(bobCtx, ids['public'] ?? '');
    assert.equal(data.stream, null, 'no data uploaded yet');
  });
});
