import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, login, makeMember, startIdentity, type Harness } from './harness.ts';

let h: Harness;
let member: string;
before(async () => {
  h = await startIdentity();
  await makeMember(h, { user: 'sam', project: 'sp', password: 'pw' });
  member = await login(h, 'sam', 'pw', 'sp');
});
after(() => h.close());

const admin = () => h.admin.token;
const catalogTypes = async () =>
  (await call(h, 'GET', '/v3/auth/catalog', { token: admin() })).body.catalog!.map((s) => s.type).sort();

test('bootstrap seeded keystone, nova, glance and neutron; ?type= and ?name= filter', async () => {
  const all = await call(h, 'GET', '/v3/services', { token: admin() });
  assert.equal(all.status, 200);
  assert.deepEqual(
    all.body.services!.map((s) => [s.type, s.name, s.enabled]),
    [
      ['compute', 'nova', true],
      ['identity', 'keystone', true],
      ['image', 'glance', true],
      ['network', 'neutron', true],
    ],
  );
  const compute = all.body.services![0]!;
  assert.deepEqual(compute, {
    id: compute.id,
    type: 'compute',
    name: 'nova',
    enabled: true,
    links: { self: `http://localhost:80/v3/services/${compute.id}` },
  });
  assert.deepEqual(
    (await call(h, 'GET', '/v3/services?type=image', { token: admin() })).body.services!.map((s) => s.name),
    ['glance'],
  );
  assert.deepEqual(
    (await call(h, 'GET', '/v3/services?name=keystone', { token: admin() })).body.services!.map((s) => s.type),
    ['identity'],
  );
  assert.equal(all.body.links!.self, 'http://localhost:80/v3/services');
});

test('create, show, update; the token catalog follows at once', async () => {
  const created = await call(h, 'POST', '/v3/services', {
    token: admin(),
    body: { service: { type: 'volumev3', name: 'cinder', description: 'Block storage', id: 'ignored' } },
  });
  assert.equal(created.status, 201);
  const s = created.body.service!;
  assert.match(s.id, /^[0-9a-f]{32}$/);
  assert.deepEqual(s, {
    id: s.id,
    type: 'volumev3',
    name: 'cinder',
    enabled: true,
    description: 'Block storage',
    links: { self: `http://localhost:80/v3/services/${s.id}` },
  });
  assert.deepEqual((await call(h, 'GET', `/v3/services/${s.id}`, { token: admin() })).body.service, s);
  assert.deepEqual(await catalogTypes(), ['compute', 'identity', 'image', 'network', 'volumev3']);

  const updated = await call(h, 'PATCH', `/v3/services/${s.id}`, {
    token: admin(),
    body: { service: { enabled: false, description: 'Blocks' } },
  });
  assert.equal(updated.status, 200);
  assert.deepEqual([updated.body.service!.enabled, updated.body.service!['description']], [false, 'Blocks']);
  assert.deepEqual(await catalogTypes(), ['compute', 'identity', 'image', 'network']);
  // A service without a name shows ''.
  const unnamed = await call(h, 'POST', '/v3/services', { token: admin(), body: { service: { type: 'x' } } });
  assert.equal(unnamed.body.service!.name, '');
});

test('delete takes the endpoints along', async () => {
  const created = await call(h, 'POST', '/v3/services', {
    token: admin(),
    body: { service: { type: 'object-store', name: 'swift' } },
  });
  const id = created.body.service!.id;
  for (const iface of ['public', 'internal']) {
    const e = await call(h, 'POST', '/v3/endpoints', {
      token: admin(),
      body: { endpoint: { service_id: id, interface: iface, url: 'http://swift:8080/', region_id: 'RegionOne' } },
    });
    assert.equal(e.status, 201);
  }
  assert.equal((await call(h, 'DELETE', `/v3/services/${id}`, { token: admin() })).status, 204);
  assert.equal((await call(h, 'GET', `/v3/services/${id}`, { token: admin() })).status, 404);
  const left = await call(h, 'GET', `/v3/endpoints?service_id=${id}`, { token: admin() });
  assert.deepEqual(left.body.endpoints, []);
  assert.ok(!(await catalogTypes()).includes('object-store'));
});

test('refusals: non-admin 403, unknown 404, bad bodies 400, and nothing changes', async () => {
  const before = await call(h, 'GET', '/v3/services', { token: admin() });
  const compute = before.body.services!.find((s) => s.type === 'compute')!;
  const forbidden = [
    await call(h, 'GET', '/v3/services', { token: member }),
    await call(h, 'GET', `/v3/services/${compute.id}`, { token: member }),
    await call(h, 'POST', '/v3/services', { token: member, body: { service: { type: 'x' } } }),
    await call(h, 'PATCH', `/v3/services/${compute.id}`, { token: member, body: { service: { name: 'x' } } }),
    await call(h, 'DELETE', `/v3/services/${compute.id}`, { token: member }),
  ];
  for (const res of forbidden) {
    assert.equal(res.status, 403);
    assert.match(res.body.error!.message, /identity:(list|get|create|update|delete)_service/);
  }
  for (const method of ['GET', 'DELETE'] as const) {
    const res = await call(h, method, '/v3/services/nope', { token: admin() });
    assert.equal(res.status, 404);
    assert.equal(res.body.error!.message, 'Could not find service: nope.');
  }
  const bad = [
    await call(h, 'POST', '/v3/services', { token: admin(), body: { service: { name: 'no type' } } }),
    await call(h, 'POST', '/v3/services', { token: admin(), body: { service: { type: '' } } }),
    await call(h, 'POST', '/v3/services', { token: admin(), body: { service: { type: 'x', enabled: 'yes' } } }),
    await call(h, 'POST', '/v3/services', { token: admin(), body: { service: { type: 'x', name: 'n'.repeat(256) } } }),
    await call(h, 'POST', '/v3/services', {
      token: admin(),
      body: { service: { type: 'x', huge: 'h'.repeat(70_000) } },
    }),
    await call(h, 'PATCH', `/v3/services/${compute.id}`, { token: admin(), body: { service: {} } }),
    await call(h, 'PATCH', `/v3/services/${compute.id}`, { token: admin(), body: { service: { id: 'other' } } }),
  ];
  for (const res of bad) {
    assert.equal(res.status, 400, res.raw);
    assert.equal(res.body.error!.title, 'Bad Request');
  }
  assert.equal(
    (await call(h, 'PATCH', '/v3/services/nope', { token: admin(), body: { service: { name: 'x' } } })).status,
    404,
  );
  assert.deepEqual((await call(h, 'GET', '/v3/services', { token: admin() })).body, before.body);
});
