import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, call, login, makeMember, passwordAuth, startIdentity, type Harness } from './harness.ts';

let h: Harness;
let member: string;
let computeId: string;
before(async () => {
  h = await startIdentity();
  await makeMember(h, { user: 'eve', project: 'ep', password: 'pw' });
  member = await login(h, 'eve', 'pw', 'ep');
  const services = await call(h, 'GET', '/v3/services?type=compute', { token: h.admin.token });
  computeId = services.body.services![0]!.id;
});
after(() => h.close());

const admin = () => h.admin.token;
/** The compute endpoints a newly issued token lists, as interface@region url. */
async function computeInNewToken(): Promise<string[]> {
  const res = await call(h, 'POST', '/v3/auth/tokens', { body: passwordAuth('admin', ADMIN_PASSWORD, 'admin') });
  const compute = res.body.token!.catalog!.find((s) => s.type === 'compute')!;
  return compute.endpoints.map((e) => `${e.interface}@${e.region} ${e.url}`).sort();
}

test('bootstrap seeded three interfaces per service in RegionOne; the filters narrow the list', async () => {
  const all = await call(h, 'GET', '/v3/endpoints', { token: admin() });
  assert.equal(all.status, 200);
  assert.equal(all.body.endpoints!.length, 12);
  const e = all.body.endpoints!.find((x) => x['service_id'] === computeId && x['interface'] === 'public')!;
  assert.deepEqual(e, {
    id: e.id,
    interface: 'public',
    region_id: 'RegionOne',
    region: 'RegionOne',
    service_id: computeId,
    url: 'http://127.0.0.1:8774/v2.1',
    enabled: true,
    links: { self: `http://localhost:80/v3/endpoints/${e.id}` },
  });
  const ids = async (query: string) =>
    (await call(h, 'GET', `/v3/endpoints${query}`, { token: admin() })).body.endpoints!.map((x) => x.id);
  assert.equal((await ids('?interface=admin')).length, 4);
  assert.equal((await ids(`?service_id=${computeId}`)).length, 3);
  assert.deepEqual(await ids(`?service_id=${computeId}&interface=public`), [e.id]);
  assert.equal((await ids('?region_id=RegionOne')).length, 12);
  assert.deepEqual(await ids('?region_id=Elsewhere'), []);
  assert.equal((await call(h, 'GET', '/v3/endpoints?interface=private', { token: admin() })).status, 400);
});

test('an endpoint in a second region: created, listed in new tokens, moved, disabled, deleted', async () => {
  await call(h, 'POST', '/v3/regions', { token: admin(), body: { region: { id: 'RegionTwo' } } });
  const created = await call(h, 'POST', '/v3/endpoints', {
    token: admin(),
    body: {
      endpoint: {
        service_id: computeId,
        interface: 'public',
        url: 'http://two.example:8774/v2.1',
        region_id: 'RegionTwo',
        name: 'nova-two',
      },
    },
  });
  assert.equal(created.status, 201);
  const e = created.body.endpoint!;
  assert.deepEqual(e, {
    id: e.id,
    interface: 'public',
    region_id: 'RegionTwo',
    region: 'RegionTwo',
    service_id: computeId,
    url: 'http://two.example:8774/v2.1',
    enabled: true,
    name: 'nova-two',
    links: { self: `http://localhost:80/v3/endpoints/${e.id}` },
  });
  assert.deepEqual((await call(h, 'GET', `/v3/endpoints/${e.id}`, { token: admin() })).body.endpoint, e);
  assert.ok((await computeInNewToken()).includes('public@RegionTwo http://two.example:8774/v2.1'));

  const moved = await call(h, 'PATCH', `/v3/endpoints/${e.id}`, {
    token: admin(),
    body: { endpoint: { url: 'https://two.example/compute', interface: 'internal' } },
  });
  assert.equal(moved.status, 200);
  assert.deepEqual(
    [moved.body.endpoint!['url'], moved.body.endpoint!['name']],
    ['https://two.example/compute', 'nova-two'],
  );
  assert.ok((await computeInNewToken()).includes('internal@RegionTwo https://two.example/compute'));

  await call(h, 'PATCH', `/v3/endpoints/${e.id}`, { token: admin(), body: { endpoint: { enabled: false } } });
  assert.ok(!(await computeInNewToken()).some((x) => x.includes('RegionTwo')));
  const catalog = await call(h, 'GET', '/v3/auth/catalog', { token: member });
  assert.ok(!JSON.stringify(catalog.body.catalog).includes('RegionTwo'));

  assert.equal((await call(h, 'DELETE', `/v3/endpoints/${e.id}`, { token: admin() })).status, 204);
  assert.equal((await call(h, 'GET', `/v3/endpoints/${e.id}`, { token: admin() })).status, 404);
});

test('`region` without region_id (v3.0 clients) creates the region when missing', async () => {
  const created = await call(h, 'POST', '/v3/endpoints', {
    token: admin(),
    body: { endpoint: { service_id: computeId, interface: 'admin', url: 'http://three/', region: 'RegionThree' } },
  });
  assert.equal(created.status, 201);
  assert.deepEqual(
    [created.body.endpoint!['region_id'], created.body.endpoint!['region']],
    ['RegionThree', 'RegionThree'],
  );
  assert.equal((await call(h, 'GET', '/v3/regions/RegionThree', { token: admin() })).status, 200);
  // The region can move back to none.
  const cleared = await call(h, 'PATCH', `/v3/endpoints/${created.body.endpoint!.id}`, {
    token: admin(),
    body: { endpoint: { region_id: null } },
  });
  assert.deepEqual([cleared.body.endpoint!['region_id'], cleared.body.endpoint!['region']], [null, null]);
  await call(h, 'DELETE', `/v3/endpoints/${created.body.endpoint!.id}`, { token: admin() });
});

test('a URL with $(project_id)s lists each token its own project', async () => {
  const volume = await call(h, 'POST', '/v3/services', { token: admin(), body: { service: { type: 'volumev3' } } });
  const created = await call(h, 'POST', '/v3/endpoints', {
    token: admin(),
    body: {
      endpoint: {
        service_id: volume.body.service!.id,
        interface: 'public',
        url: 'http://vol:8776/v3/$(project_id)s',
        region_id: 'RegionOne',
      },
    },
  });
  assert.equal(created.status, 201);
  assert.equal(created.body.endpoint!['url'], 'http://vol:8776/v3/$(project_id)s');
  const urls = async (token: string) => {
    const res = await call(h, 'GET', '/v3/auth/catalog', { token });
    return res.body.catalog!.find((s) => s.type === 'volumev3')!.endpoints.map((e) => e.url);
  };
  assert.deepEqual(await urls(admin()), [`http://vol:8776/v3/${h.admin.projectId}`]);
  const eve = await call(h, 'GET', '/v3/auth/tokens', { token: admin(), headers: { 'x-subject-token': member } });
  assert.deepEqual(await urls(member), [`http://vol:8776/v3/${eve.body.token!.project!.id}`]);
  await call(h, 'DELETE', `/v3/services/${volume.body.service!.id}`, { token: admin() });
});

test('refusals: non-admin 403, unknown 404, bad bodies 400, and nothing changes', async () => {
  const before = await call(h, 'GET', '/v3/endpoints', { token: admin() });
  const regions = await call(h, 'GET', '/v3/regions', { token: admin() });
  const tokenBefore = await computeInNewToken();
  const one = before.body.endpoints![0]!;
  const good = { service_id: computeId, interface: 'public', url: 'http://x/' };
  const forbidden = [
    await call(h, 'GET', '/v3/endpoints', { token: member }),
    await call(h, 'GET', `/v3/endpoints/${one.id}`, { token: member }),
    await call(h, 'POST', '/v3/endpoints', { token: member, body: { endpoint: good } }),
    await call(h, 'PATCH', `/v3/endpoints/${one.id}`, { token: member, body: { endpoint: { url: 'http://y/' } } }),
    await call(h, 'DELETE', `/v3/endpoints/${one.id}`, { token: member }),
  ];
  for (const res of forbidden) assert.equal(res.status, 403);
  for (const method of ['GET', 'DELETE'] as const) {
    const res = await call(h, method, '/v3/endpoints/nope', { token: admin() });
    assert.deepEqual(res.body.error, { code: 404, title: 'Not Found', message: 'Could not find endpoint: nope.' });
  }
  assert.equal(
    (await call(h, 'PATCH', '/v3/endpoints/nope', { token: admin(), body: { endpoint: { url: 'http://y/' } } })).status,
    404,
  );
  const bad = [
    await call(h, 'POST', '/v3/endpoints', { token: admin(), body: { endpoint: { ...good, interface: 'private' } } }),
    await call(h, 'POST', '/v3/endpoints', { token: admin(), body: { endpoint: { ...good, url: 'no-scheme' } } }),
    await call(h, 'POST', '/v3/endpoints', {
      token: admin(),
      body: { endpoint: { ...good, url: 'http://x/$(bogus)s' } },
    }),
    await call(h, 'PATCH', `/v3/endpoints/${one.id}`, {
      token: admin(),
      body: { endpoint: { url: 'http://x/a%20b' } },
    }),
    await call(h, 'POST', '/v3/endpoints', {
      token: admin(),
      body: { endpoint: { ...good, url: `http://${'a'.repeat(230)}` } },
    }),
    await call(h, 'POST', '/v3/endpoints', {
      token: admin(),
      body: { endpoint: { interface: 'public', url: 'http://x/' } },
    }),
    // Unknown service or region_id: Keystone's 400, and the region given as `region` is not created.
    await call(h, 'POST', '/v3/endpoints', {
      token: admin(),
      body: { endpoint: { ...good, service_id: 'nope', region: 'Ghost' } },
    }),
    await call(h, 'POST', '/v3/endpoints', { token: admin(), body: { endpoint: { ...good, region_id: 'Ghost' } } }),
    await call(h, 'POST', '/v3/endpoints', { token: admin(), body: { endpoint: { ...good, enabled: 'true' } } }),
    await call(h, 'PATCH', `/v3/endpoints/${one.id}`, { token: admin(), body: { endpoint: {} } }),
    await call(h, 'PATCH', `/v3/endpoints/${one.id}`, { token: admin(), body: { endpoint: { region_id: 'Ghost' } } }),
    await call(h, 'PATCH', `/v3/endpoints/${one.id}`, { token: admin(), body: { endpoint: { service_id: 'nope' } } }),
    await call(h, 'PATCH', `/v3/endpoints/${one.id}`, { token: admin(), body: { endpoint: { id: 'other' } } }),
  ];
  for (const res of bad) {
    assert.equal(res.status, 400, res.raw);
    assert.equal(res.body.error!.code, 400);
  }
  assert.deepEqual((await call(h, 'GET', '/v3/endpoints', { token: admin() })).body, before.body);
  assert.deepEqual((await call(h, 'GET', '/v3/regions', { token: admin() })).body, regions.body);
  assert.deepEqual(await computeInNewToken(), tokenBefore);
});
