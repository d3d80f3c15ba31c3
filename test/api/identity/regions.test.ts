import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, login, makeMember, startIdentity, type Harness } from './harness.ts';

let h: Harness;
let member: string;
before(async () => {
  h = await startIdentity();
  await makeMember(h, { user: 'rita', project: 'rp', password: 'pw' });
  member = await login(h, 'rita', 'pw', 'rp');
});
after(() => h.close());

const admin = () => h.admin.token;
const regionIds = async (query = '') =>
  (await call(h, 'GET', `/v3/regions${query}`, { token: admin() })).body.regions!.map((r) => r.id);

test('bootstrap seeded the configured region', async () => {
  const res = await call(h, 'GET', '/v3/regions/RegionOne', { token: admin() });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.region, {
    id: 'RegionOne',
    description: '',
    parent_region_id: null,
    links: { self: 'http://localhost:80/v3/regions/RegionOne' },
  });
});

test('create with an id, without one, and by PUT; list filters on the parent', async () => {
  const named = await call(h, 'POST', '/v3/regions', {
    token: admin(),
    body: { region: { id: 'North', description: 'the north', owner: 'ops' } },
  });
  assert.equal(named.status, 201);
  assert.deepEqual(named.body.region, {
    id: 'North',
    description: 'the north',
    parent_region_id: null,
    owner: 'ops',
    links: { self: 'http://localhost:80/v3/regions/North' },
  });
  const generated = await call(h, 'POST', '/v3/regions', {
    token: admin(),
    body: { region: { id: '', parent_region_id: 'North' } },
  });
  assert.equal(generated.status, 201);
  assert.match(generated.body.region!.id, /^[0-9a-f]{32}$/);
  assert.equal(generated.body.region!.description, '');
  const put = await call(h, 'PUT', '/v3/regions/North-2', {
    token: admin(),
    body: { region: { parent_region_id: 'North', description: null } },
  });
  assert.equal(put.status, 201);
  assert.deepEqual([put.body.region!.id, put.body.region!.parent_region_id], ['North-2', 'North']);
  assert.deepEqual((await regionIds('?parent_region_id=North')).sort(), [generated.body.region!.id, 'North-2'].sort());
  assert.deepEqual((await regionIds()).sort(), ['North', 'North-2', 'RegionOne', generated.body.region!.id].sort());
});

test('any user may read regions; only admins write them', async () => {
  assert.equal((await call(h, 'GET', '/v3/regions', { token: member })).status, 200);
  assert.equal((await call(h, 'GET', '/v3/regions/RegionOne', { token: member })).status, 200);
  assert.equal((await call(h, 'GET', '/v3/regions')).status, 401);
  const before = await regionIds();
  const refused = [
    await call(h, 'POST', '/v3/regions', { token: member, body: { region: { id: 'Mine' } } }),
    await call(h, 'PUT', '/v3/regions/Mine', { token: member, body: { region: {} } }),
    await call(h, 'PATCH', '/v3/regions/RegionOne', { token: member, body: { region: { description: 'x' } } }),
    await call(h, 'DELETE', '/v3/regions/RegionOne', { token: member }),
  ];
  for (const res of refused) {
    assert.equal(res.status, 403);
    assert.equal(res.body.error!.code, 403);
    assert.equal(res.body.error!.title, 'Forbidden');
  }
  assert.deepEqual(await regionIds(), before);
});

test('update the description, the parent and extra attributes', async () => {
  await call(h, 'POST', '/v3/regions', { token: admin(), body: { region: { id: 'East' } } });
  const res = await call(h, 'PATCH', '/v3/regions/East', {
    token: admin(),
    body: { region: { description: 'sunrise', parent_region_id: 'RegionOne', tier: 'gold' } },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(
    [res.body.region!.description, res.body.region!.parent_region_id, res.body.region!['tier']],
    ['sunrise', 'RegionOne', 'gold'],
  );
  const again = await call(h, 'PATCH', '/v3/regions/East', {
    token: admin(),
    body: { region: { id: 'East', parent_region_id: null } },
  });
  assert.deepEqual([again.body.region!.parent_region_id, again.body.region!['tier']], [null, 'gold']);
});

test('refusals: unknown 404, duplicate 409, bad bodies and cycles 400, and nothing changes', async () => {
  await call(h, 'POST', '/v3/regions', { token: admin(), body: { region: { id: 'West' } } });
  await call(h, 'POST', '/v3/regions', {
    token: admin(),
    body: { region: { id: 'West-1', parent_region_id: 'West' } },
  });
  const before = await call(h, 'GET', '/v3/regions', { token: admin() });
  const notFound = await call(h, 'GET', '/v3/regions/Nowhere', { token: admin() });
  assert.equal(notFound.status, 404);
  assert.deepEqual(notFound.body.error, { code: 404, title: 'Not Found', message: 'Could not find region: Nowhere.' });
  assert.equal(
    (await call(h, 'PATCH', '/v3/regions/Nowhere', { token: admin(), body: { region: { description: 'x' } } })).status,
    404,
  );
  assert.equal((await call(h, 'DELETE', '/v3/regions/Nowhere', { token: admin() })).status, 404);
  // An unknown parent is a 404, as Keystone answers it.
  assert.equal(
    (
      await call(h, 'POST', '/v3/regions', {
        token: admin(),
        body: { region: { id: 'Z', parent_region_id: 'Nowhere' } },
      })
    ).status,
    404,
  );
  const dup = await call(h, 'POST', '/v3/regions', { token: admin(), body: { region: { id: 'West' } } });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.error!.title, 'Conflict');
  assert.equal((await call(h, 'PUT', '/v3/regions/West', { token: admin(), body: { region: {} } })).status, 409);
  const bad = [
    await call(h, 'POST', '/v3/regions', { token: admin(), body: {} }),
    await call(h, 'POST', '/v3/regions', { token: admin(), body: { region: { id: 'x'.repeat(256) } } }),
    await call(h, 'POST', '/v3/regions', { token: admin(), body: { region: { description: 7 } } }),
    await call(h, 'PUT', '/v3/regions/A', { token: admin(), body: { region: { id: 'B' } } }),
    await call(h, 'PATCH', '/v3/regions/West', { token: admin(), body: { region: {} } }),
    await call(h, 'PATCH', '/v3/regions/West', { token: admin(), body: { region: { id: 'Other' } } }),
    // A region cannot become its own ancestor.
    await call(h, 'PATCH', '/v3/regions/West', { token: admin(), body: { region: { parent_region_id: 'West-1' } } }),
    await call(h, 'PATCH', '/v3/regions/West', { token: admin(), body: { region: { parent_region_id: 'West' } } }),
  ];
  for (const res of bad) {
    assert.equal(res.status, 400, res.raw);
    assert.equal(res.body.error!.code, 400);
  }
  assert.deepEqual((await call(h, 'GET', '/v3/regions', { token: admin() })).body, before.body);
});

test('delete takes the child regions along, and is refused while any of them holds an endpoint', async () => {
  await call(h, 'POST', '/v3/regions', { token: admin(), body: { region: { id: 'South' } } });
  await call(h, 'POST', '/v3/regions', {
    token: admin(),
    body: { region: { id: 'South-1', parent_region_id: 'South' } },
  });
  const service = await call(h, 'POST', '/v3/services', { token: admin(), body: { service: { type: 'volume' } } });
  const endpoint = await call(h, 'POST', '/v3/endpoints', {
    token: admin(),
    body: {
      endpoint: { service_id: service.body.service!.id, interface: 'public', url: 'http://s/', region_id: 'South-1' },
    },
  });
  assert.equal(endpoint.status, 201);
  // Keystone's RegionDeletionError is a 403.
  const refused = await call(h, 'DELETE', '/v3/regions/South', { token: admin() });
  assert.equal(refused.status, 403);
  assert.match(refused.body.error!.message, /its child regions have associated endpoints/);
  assert.ok((await regionIds()).includes('South-1'));

  await call(h, 'DELETE', `/v3/endpoints/${endpoint.body.endpoint!.id}`, { token: admin() });
  assert.equal((await call(h, 'DELETE', '/v3/regions/South', { token: admin() })).status, 204);
  const left = await regionIds();
  assert.ok(!left.includes('South') && !left.includes('South-1'));
});
