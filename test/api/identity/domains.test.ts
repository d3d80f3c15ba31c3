import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, login, makeMember, passwordAuth, startIdentity, type Harness } from './harness.ts';

let h: Harness;
before(async () => void (h = await startIdentity()));
after(() => h.close());

const admin = () => h.admin.token;

test('the default domain is listed and shown in Keystone form', async () => {
  const list = await call(h, 'GET', '/v3/domains', { token: admin() });
  assert.deepEqual(
    list.body.domains!.map((d) => d.id),
    ['default'],
  );
  const show = await call(h, 'GET', '/v3/domains/default', { token: admin() });
  assert.deepEqual(show.body.domain, {
    id: 'default',
    name: 'Default',
    description: 'The default domain',
    enabled: true,
    tags: [],
    options: {},
    links: { self: 'http://localhost:80/v3/domains/default' },
  });
  assert.equal((await call(h, 'GET', '/v3/domains/nope', { token: admin() })).status, 404);
});

test('create, update, then delete only once disabled, taking users and projects along', async () => {
  const created = await call(h, 'POST', '/v3/domains', { token: admin(), body: { domain: { name: 'Other' } } });
  assert.equal(created.status, 201);
  const domainId = created.body.domain!.id;
  assert.equal(
    (await call(h, 'POST', '/v3/domains', { token: admin(), body: { domain: { name: 'Other' } } })).status,
    409,
  );
  const project = await call(h, 'POST', '/v3/projects', {
    token: admin(),
    body: { project: { name: 'op', domain_id: domainId } },
  });
  const user = await call(h, 'POST', '/v3/users', {
    token: admin(),
    body: { user: { name: 'ou', domain_id: domainId, password: 'pw' } },
  });
  const member = (await call(h, 'GET', '/v3/roles?name=member', { token: admin() })).body.roles![0]!.id;
  await call(h, 'PUT', `/v3/projects/${project.body.project!.id}/users/${user.body.user!.id}/roles/${member}`, {
    token: admin(),
  });
  const login = await call(h, 'POST', '/v3/auth/tokens', { body: passwordAuth('ou', 'pw', 'op', 'Other') });
  assert.equal(login.status, 201);
  const token = String(login.headers['x-subject-token']);

  assert.equal((await call(h, 'DELETE', `/v3/domains/${domainId}`, { token: admin() })).status, 403);
  const disabled = await call(h, 'PATCH', `/v3/domains/${domainId}`, {
    token: admin(),
    body: { domain: { enabled: false } },
  });
  assert.equal(disabled.body.domain!.enabled, false);
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 401);
  assert.equal((await call(h, 'DELETE', `/v3/domains/${domainId}`, { token: admin() })).status, 204);
  assert.equal((await call(h, 'GET', `/v3/projects/${project.body.project!.id}`, { token: admin() })).status, 404);
  assert.equal((await call(h, 'GET', `/v3/users/${user.body.user!.id}`, { token: admin() })).status, 404);
  const left = await call(h, 'GET', `/v3/role_assignments?user.id=${user.body.user!.id}`, { token: admin() });
  assert.deepEqual(left.body.role_assignments, []);
});

test('domain names are at most 64 characters', async () => {
  const res = await call(h, 'POST', '/v3/domains', { token: admin(), body: { domain: { name: 'd'.repeat(65) } } });
  assert.equal(res.status, 400);
});

test('a member may read its own domain but not list or manage domains', async () => {
  await makeMember(h, { user: 'dm', project: 'dp', password: 'pw' });
  const token = await login(h, 'dm', 'pw', 'dp');
  assert.equal((await call(h, 'GET', '/v3/domains/default', { token })).status, 200);
  assert.equal((await call(h, 'GET', '/v3/domains', { token })).status, 403);
  assert.equal((await call(h, 'POST', '/v3/domains', { token, body: { domain: { name: 'x' } } })).status, 403);
});
