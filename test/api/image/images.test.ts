/** Image metadata through the v2 API: create, list with filters and pages, show, JSON-patch updates, delete. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { client, PROJECT_A, startImageApi, type ImageApiHarness } from './helpers.ts';

let h: ImageApiHarness;
before(async () => {
  h = await startImageApi();
});
after(async () => {
  await h.close();
});

const names = (body: { images: { name: string }[] }) => body.images.map((i) => i.name);

describe('POST /v2/images', () => {
  it('creates a queued image with Glance defaults, flattened properties and links', async () => {
    const res = await client(h.app, 'alice').post('/v2/images', {
      name: 'cirros',
      disk_format: 'qcow2',
      container_format: 'bare',
      min_ram: 64,
      tags: ['a', 'b', 'a'],
      hw_disk_bus: 'virtio',
    });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.match(body.id, /^[0-9a-f-]{36}$/);
    assert.equal(res.headers['location'], `http://localhost:80/v2/images/${body.id}`);
    assert.equal(body.status, 'queued');
    assert.equal(body.visibility, 'shared');
    assert.equal(body.owner, PROJECT_A);
    assert.equal(body.min_ram, 64);
    assert.equal(body.min_disk, 0);
    assert.equal(body.protected, false);
    assert.equal(body.os_hidden, false);
    assert.equal(body.size, null);
    assert.equal(body.checksum, null);
    assert.deepEqual(body.tags, ['a', 'b']);
    assert.equal(body.hw_disk_bus, 'virtio');
    assert.equal(body.self, `/v2/images/${body.id}`);
    assert.equal(body.file, `/v2/images/${body.id}/file`);
    assert.equal(body.schema, '/v2/schemas/image');
    assert.match(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(body.updated_at, body.created_at);
  });

  it('takes a caller-chosen id once, and never again', async () => {
    const id = '2f0d8d4e-6a0c-4a4e-9a53-0f4b1d7d9c11';
    const alice = client(h.app, 'alice');
    assert.equal((await alice.post('/v2/images', { id, name: 'chosen' })).statusCode, 201);
    assert.equal((await alice.post('/v2/images', { id, name: 'again' })).statusCode, 409);
    assert.equal((await alice.delete(`/v2/images/${id}`)).statusCode, 204);
    // A deleted image's id stays taken, as in Glance.
    assert.equal((await alice.post('/v2/images', { id, name: 'reuse' })).statusCode, 409);
  });

  it('refuses bad input with a clear 4xx and creates nothing', async () => {
    const alice = client(h.app, 'alice');
    const before = (await alice.get('/v2/images?limit=1000')).json().images.length;
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ name: 'x', disk_format: 'floppy' }, 400, /"floppy" is not one of/],
      [{ name: 'x', container_format: 'zip' }, 400, /container_format/],
      [{ name: 'n'.repeat(256) }, 400, /too long/],
      [{ name: 'x', favourite_number: 42 }, 400, /favourite_number/],
      [{ name: 'x', min_ram: -1 }, 400, /min_ram/],
      [{ name: 'x', min_disk: '1' }, 400, /min_disk/],
      [{ name: 'x', protected: 'yes' }, 400, /protected/],
      [{ name: 'x', visibility: 'everyone' }, 400, /visibility/],
      [{ name: 'x', tags: 'a,b' }, 400, /tags/],
      [{ name: 'x', id: 'not-a-uuid' }, 400, /id/],
      [{ name: 'x', status: 'active' }, 403, /Attribute 'status' is read-only/],
      [{ name: 'x', self: '/elsewhere' }, 403, /read-only/],
      [{ name: 'x', size: 5 }, 403, /read-only/],
      [{ name: 'x', location: 'file:///etc/passwd' }, 403, /reserved/],
      [{ name: 'x', os_glance_import_task: 'x' }, 403, /reserved/],
      [{ name: 'x', visibility: 'public' }, 403, /publicize_image/],
      [{ name: 'x', owner: 'someone-else' }, 403, /owned by/],
      [{ name: 'x', note: 'v'.repeat(256) }, 400, /too long \(field 'note', at most 255 characters\)/],
      [JSON.parse('{"name": "x", "__proto__": "y"}') as Record<string, unknown>, 400, /'__proto__' is not allowed/],
      [{ name: 'x', tags: [''] }, 400, /Tags may not be empty or blank/],
      [{ name: 'x', tags: ['  '] }, 400, /Tags may not be empty or blank/],
      [{ name: 'x', tags: ['a\u0000b'] }, 400, /Tags may not contain NUL/],
    ];
    for (const [body, status, message] of cases) {
      const res = await alice.post('/v2/images', body);
      assert.equal(res.statusCode, status, `${JSON.stringify(body).slice(0, 80)} → ${res.body}`);
      const err = res.json();
      assert.equal(err.code, status);
      assert.match(err.message, message);
      assert.equal(typeof err.title, 'string');
    }
    for (const payload of ['[1,2]', '{"name":', 'null']) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/v2/images',
        headers: { 'x-auth-token': 'alice-token', 'content-type': 'application/json' },
        payload,
      });
      assert.equal(res.statusCode, 400, `${payload} → ${res.body}`);
    }
    assert.equal((await alice.get('/v2/images?limit=1000')).json().images.length, before);
  });

  it('needs a token', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v2/images', payload: { name: 'x' } });
    assert.equal(res.statusCode, 401);
    const bad = await h.app.inject({ method: 'GET', url: '/v2/images', headers: { 'x-auth-token': 'forged' } });
    assert.equal(bad.statusCode, 401);
  });
});

describe('GET /v2/images', () => {
  let ids: Record<string, string>;
  before(async () => {
    const bob = client(h.app, 'bob');
    ids = {};
    for (const [name, extra] of [
      ['list-1', { disk_format: 'qcow2', container_format: 'bare', tags: ['blue', 'big'], os_distro: 'debian' }],
      ['list-2', { disk_format: 'raw', container_format: 'bare', tags: ['blue'], os_distro: 'ubuntu' }],
      ['list-3', { disk_format: 'iso', container_format: 'bare', visibility: 'private' }],
      ['list-4', { disk_format: 'qcow2', container_format: 'ovf', protected: true }],
      ['list-5', { disk_format: 'qcow2', container_format: 'bare', os_hidden: true }],
    ] as const) {
      ids[name] = String((await bob.create({ name, ...extra })).id);
    }
  });

  it('lists with first and schema links and filters on core attributes, tags and properties', async () => {
    const bob = client(h.app, 'bob');
    const all = (await bob.get('/v2/images?sort_key=name&sort_dir=asc')).json();
    assert.deepEqual(names(all), ['list-1', 'list-2', 'list-3', 'list-4']); // list-5 is hidden
    assert.equal(all.first, '/v2/images?sort_key=name&sort_dir=asc');
    assert.equal(all.schema, '/v2/schemas/images');
    assert.equal(all.next, undefined);

    const q = async (query: string) => names((await bob.get(`/v2/images?sort=name:asc&${query}`)).json());
    assert.deepEqual(await q('disk_format=qcow2'), ['list-1', 'list-4']);
    assert.deepEqual(await q('container_format=ovf'), ['list-4']);
    assert.deepEqual(await q('name=list-2'), ['list-2']);
    assert.deepEqual(await q('name=in:list-2,list-3'), ['list-2', 'list-3']);
    assert.deepEqual(await q('visibility=private'), ['list-3']);
    assert.deepEqual(await q('status=queued&tag=blue'), ['list-1', 'list-2']);
    assert.deepEqual(await q('status=active'), []);
    assert.deepEqual(await q('tag=blue&tag=big'), ['list-1']);
    assert.deepEqual(await q('os_distro=ubuntu'), ['list-2']);
    assert.deepEqual(await q('protected=true'), ['list-4']);
    assert.deepEqual(await q('os_hidden=true'), ['list-5']);
    assert.deepEqual(await q('owner=nobody'), []);
    assert.deepEqual(await q('member_status=all'), ['list-1', 'list-2', 'list-3', 'list-4']);
  });

  it('pages with limit and marker, following next links to the end', async () => {
    const bob = client(h.app, 'bob');
    const seen: string[] = [];
    let url: string | undefined = '/v2/images?limit=3&sort_key=name&sort_dir=desc';
    let pages = 0;
    while (url) {
      const body: { images: { name: string }[]; next?: string } = (await bob.get(url)).json();
      seen.push(...names(body));
      url = body.next;
      pages++;
      assert.ok(pages < 10);
    }
    assert.deepEqual(seen, ['list-4', 'list-3', 'list-2', 'list-1']);
    assert.equal(pages, 2);

    const page = (await bob.get(`/v2/images?limit=2&sort=name:asc&marker=${ids['list-2']}`)).json();
    assert.deepEqual(names(page), ['list-3', 'list-4']);
    assert.equal(page.first, '/v2/images?limit=2&sort=name%3Aasc');
  });

  it('sorts by any allowed key in both directions, default newest first', async () => {
    const bob = client(h.app, 'bob');
    const byFormat = names((await bob.get('/v2/images?sort=disk_format:asc,name:desc')).json());
    assert.deepEqual(byFormat, ['list-3', 'list-4', 'list-1', 'list-2']);
    const res = await bob.get('/v2/images');
    assert.equal(res.statusCode, 200);
    const created = res.json().images.map((i: { created_at: string }) => i.created_at);
    assert.deepEqual(created, [...created].sort().reverse());
  });

  it('refuses bad query parameters', async () => {
    const bob = client(h.app, 'bob');
    for (const [query, message] of [
      ['limit=abc', /limit param must be an integer/],
      ['limit=-1', /limit param must be positive/],
      ['sort_key=owner', /Invalid sort key/],
      ['sort_dir=up', /Invalid sort direction/],
      ['sort=name&sort_key=name', /cannot be combined/],
      ['visibility=everyone', /Invalid visibility/],
      ['member_status=maybe', /Invalid status/],
      ['protected=maybe', /protected/],
      ['marker=00000000-0000-0000-0000-000000000000', /No image found/],
      ['size_min=big', /size_min/],
    ] as const) {
      const res = await bob.get(`/v2/images?${query}`);
      assert.equal(res.statusCode, 400, query);
      assert.match(res.json().message, message);
    }
  });
});

describe('GET, PATCH and DELETE /v2/images/{id}', () => {
  it('shows an image, and 404s unknown or malformed ids', async () => {
    const alice = client(h.app, 'alice');
    const created = await alice.create({ name: 'show-me', architecture: 'x86_64' });
    const res = await alice.get(`/v2/images/${created.id}`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), created);
    for (const id of ['00000000-0000-0000-0000-000000000000', 'not-a-uuid', 'show-me', 'x'.repeat(90)]) {
      const missing = await alice.get(`/v2/images/${id}`);
      assert.equal(missing.statusCode, 404, id);
      assert.equal(missing.json().code, 404);
    }
  });

  it('applies add, replace and remove on attributes, properties and tags', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'patch-me', os_distro: 'debian', tags: ['one'] });
    const url = `/v2/images/${image.id}`;
    const res = await alice.patch(url, [
      { op: 'replace', path: '/name', value: 'patched' },
      { op: 'add', path: '/min_disk', value: 2 },
      { op: 'replace', path: '/min_ram', value: 512 },
      { op: 'add', path: '/protected', value: true },
      { op: 'add', path: '/visibility', value: 'community' },
      { op: 'add', path: '/hw_qemu_guest_agent', value: 'yes' },
      { op: 'replace', path: '/os_distro', value: 'ubuntu' },
      { op: 'add', path: '/tags', value: ['two', 'three', 'two'] },
      { op: 'add', path: '/a~1b', value: 'slash' },
    ]);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.name, 'patched');
    assert.equal(body.min_disk, 2);
    assert.equal(body.min_ram, 512);
    assert.equal(body.protected, true);
    assert.equal(body.visibility, 'community');
    assert.equal(body.hw_qemu_guest_agent, 'yes');
    assert.equal(body.os_distro, 'ubuntu');
    assert.equal(body['a/b'], 'slash');
    assert.deepEqual(body.tags, ['two', 'three']);

    const removed = await alice.patch(url, [{ op: 'remove', path: '/os_distro' }]);
    assert.equal(removed.statusCode, 200);
    assert.equal('os_distro' in removed.json(), false);
    assert.deepEqual((await alice.get(url)).json(), removed.json());
  });

  it('refuses read-only, reserved, missing and malformed changes, changing nothing', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'stable', os_distro: 'debian' });
    const url = `/v2/images/${image.id}`;
    const cases: [unknown, number, RegExp][] = [
      [[{ op: 'replace', path: '/status', value: 'active' }], 403, /Attribute 'status' is read-only/],
      [[{ op: 'replace', path: '/id', value: 'x' }], 403, /read-only/],
      [[{ op: 'add', path: '/checksum', value: 'x' }], 403, /read-only/],
      [[{ op: 'add', path: '/location', value: 'x' }], 403, /reserved/],
      [[{ op: 'remove', path: '/name' }], 403, /may not be removed/],
      [[{ op: 'replace', path: '/nope', value: 'x' }], 409, /does not exist/],
      [[{ op: 'remove', path: '/nope' }], 409, /does not exist/],
      [[{ op: 'replace', path: '/visibility', value: 'public' }], 403, /publicize_image/],
      [[{ op: 'replace', path: '/owner', value: 'someone' }], 403, /Owner can't be updated/],
      [[{ op: 'replace', path: '/disk_format', value: 'floppy' }], 400, /floppy/],
      [[{ op: 'replace', path: '/name', value: 'n'.repeat(256) }], 400, /too long/],
      [[{ op: 'add', path: '/os_distro', value: 7 }], 400, /os_distro/],
      [[{ op: 'move', path: '/name', from: '/x' }], 400, /Invalid operation/],
      [[{ op: 'replace', path: 'name', value: 'x' }], 400, /does not start with/],
      [[{ op: 'replace', path: '/a/b', value: 'x' }], 400, /Invalid JSON pointer/],
      [[{ op: 'replace', path: '/name' }], 400, /requires a member named "value"/],
      [{ op: 'replace', path: '/name', value: 'x' }, 400, /JSON array/],
      // The first change is valid; the second fails, so neither is applied.
      [
        [
          { op: 'replace', path: '/name', value: 'changed' },
          { op: 'replace', path: '/size', value: 1 },
        ],
        403,
        /read-only/,
      ],
    ];
    for (const [ops, status, message] of cases) {
      const res = await alice.patch(url, ops);
      assert.equal(res.statusCode, status, `${JSON.stringify(ops)} → ${res.body}`);
      assert.match(res.json().message, message);
    }
    const json = await alice.patch(url, [{ op: 'replace', path: '/name', value: 'x' }], 'application/json');
    assert.equal(json.statusCode, 415);
    assert.match(String(json.headers['accept-patch']), /openstack-images-v2.1-json-patch/);
    const after = (await alice.get(url)).json();
    assert.equal(after.name, 'stable');
    assert.equal(after.os_distro, 'debian');
  });

  it('speaks the older 2.0 patch dialect too', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'old-dialect', k: 'v' });
    const url = `/v2/images/${image.id}`;
    const type = 'application/openstack-images-v2.0-json-patch';
    const res = await alice.patch(
      url,
      [
        { replace: '/name', value: 'renamed' },
        { add: '/k2', value: 'v2' },
      ],
      type,
    );
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().name, 'renamed');
    assert.equal((await alice.patch(url, [{ add: '/k', value: 'again' }], type)).statusCode, 409);
  });

  it('deletes, refusing protected images until unprotected', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'guarded', protected: true });
    const url = `/v2/images/${image.id}`;
    const refused = await alice.delete(url);
    assert.equal(refused.statusCode, 403);
    assert.match(refused.json().message, /protected/);
    assert.equal((await alice.get(url)).statusCode, 200);
    assert.equal((await alice.patch(url, [{ op: 'replace', path: '/protected', value: false }])).statusCode, 200);
    assert.equal((await alice.delete(url)).statusCode, 204);
    assert.equal((await alice.get(url)).statusCode, 404);
    assert.equal((await alice.delete(url)).statusCode, 404);
    assert.equal((await alice.get('/v2/images?name=guarded')).json().images.length, 0);
  });

  it('adds and removes single tags', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'tagged', tags: ['keep'] });
    const url = `/v2/images/${image.id}`;
    const put = await h.app.inject({
      method: 'PUT',
      url: `${url}/tags/new`,
      headers: { 'x-auth-token': 'alice-token' },
    });
    assert.equal(put.statusCode, 204);
    assert.equal((await alice.delete(`${url}/tags/keep`)).statusCode, 204);
    assert.deepEqual((await alice.get(url)).json().tags, ['new']);
    assert.equal((await alice.delete(`${url}/tags/keep`)).statusCode, 404);
  });

  it('refuses tags that are blank or hold a NUL, by PUT and by PATCH, keeping the tags', async () => {
    const alice = client(h.app, 'alice');
    const image = await alice.create({ name: 'tag-checks', tags: ['keep'] });
    const url = `/v2/images/${image.id}`;
    for (const tag of ['%20', '%20%20', 'a%00b']) {
      const put = await h.app.inject({
        method: 'PUT',
        url: `${url}/tags/${tag}`,
        headers: { 'x-auth-token': 'alice-token' },
      });
      assert.equal(put.statusCode, 400, tag);
    }
    const patch = await h.app.inject({
      method: 'PATCH',
      url,
      headers: { 'x-auth-token': 'alice-token', 'content-type': 'application/openstack-images-v2.1-json-patch' },
      payload: JSON.stringify([{ op: 'replace', path: '/tags', value: ['ok', ''] }]),
    });
    assert.equal(patch.statusCode, 400, patch.body);
    assert.deepEqual((await alice.get(url)).json().tags, ['keep']);
  });
});
