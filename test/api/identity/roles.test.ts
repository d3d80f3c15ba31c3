import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, login, makeMember, startIdentity, type Harness } from './harness.ts';

let h: Harness;
before(async () => void (h = await startIdentity()));
after(() => h.close());

const admin = () => h.admin.token;

test('bootstrap roles are listed; ?name= filters', async () => {
  const all = await call(h, 'GET', '/v3/roles', { token: admin() });
  assert.deepEqual(
    all.body.roles!.map((r) => r.name),
    ['admin', 'member', 'reader'],
  );
  const one = await call(h, 'GET', '/v3/roles?name=reader', { token: admin() });
  assert.deepEqual(
    one.body.roles!.map((r) => r.name),
    ['reader'],
  );
});

test('create, show, rename and delete a role', async () => {
  const res = await call(h, 'POST', '/v3/roles', {
    token: admin(),
    body: { role: { name: 'auditor', description: 'reads logs' } },
  });
  assert.equal(res.status, 201);
  const r = res.body.role!;
  assert.deepEqual(r, {
    id: r.id,
    name: 'auditor',
    domain_id: null,
    description: 'reads logs',
    options: {},
    links: { self: `http://localhost:80/v3/roles/${r.id}` },
  });
  assert.equal((await call(h, 'GET', `/v3/roles/${r.id}`, { token: admin() })).body.role!.name, 'auditor');
  const renamed = await call(h, 'PATCH', `/v3/roles/${r.id}`, { token: admin(), body: { role: { name: 'auditor2' } } });
  assert.equal(renamed.body.role!.name, 'auditor2');
  assert.equal((await call(h, 'DELETE', `/v3/roles/${r.id}`, { token: admin() })).status, 204);
  assert.equal((await call(h, 'GET', `/v3/roles/${r.id}`, { token: admin() })).status, 404);
});

test('duplicates are 409; bad bodies and domain roles are 400', async () => {
  assert.equal(
    (await call(h, 'POST', '/v3/roles', { token: admin(), body: { role: { name: 'member' } } })).status,
    409,
  );
  assert.equal((await call(h, 'POST', '/v3/roles', { token: admin(), body: { role: { name: '' } } })).status, 400);
  assert.equal(
    (await call(h, 'POST', '/v3/roles', { token: admin(), body: { role: { name: 'x', extra: 1 } } })).status,
    400,
  );
  const domainRole = await call(h, 'POST', '/v3/roles', {
    token: admin(),
    body: { role: { name: 'd', domain_id: 'default' } },
  });
  assert.equal(domainRole.status, 400);
  assert.match(domainRole.body.error!.message, /Domain-specific roles/);
});

test('deleting a role removes its assignments and the roles of live tokens', async () => {
  const created = await call(h, 'POST', '/v3/roles', { token: admin(), body: { role: { name: 'temp' } } });
  const { userId, projectId } = await makeMember(h, { user: 'tina', project: 'tp', password: 'pw', role: 'temp' });
  const token = await login(h, 'tina', 'pw', 'tp');
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 200);
  await call(h, 'DELETE', `/v3/roles/${created.body.role!.id}`, { token: admin() });
  const left = await call(h, 'GET', `/v3/projects/${projectId}/users/${userId}/roles`, { token: admin() });
  assert.deepEqual(left.body.roles, []);
  // Its only role on the project is gone: the token no longer works.
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 401);
});

test('non-admins cannot manage roles', async () => {
  await makeMember(h, { user: 'nora', project: 'np', password: 'pw' });
  const token = await login(h, 'nora', 'pw', 'np');
  assert.equal((await call(h, 'GET', '/v3/roles', { token })).status, 403);
  assert.equal((await call(h, 'POST', '/v3/roles', { token, body: { role: { name: 'x' } } })).status, 403);
});
