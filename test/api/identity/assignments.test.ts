import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, login, startIdentity, type Harness } from './harness.ts';

let h: Harness;
let ids: { project: string; user: string; member: string; reader: string; admin: string };

before(async () => {
  h = await startIdentity();
  const token = h.admin.token;
  const project = await call(h, 'POST', '/v3/projects', { token, body: { project: { name: 'ap' } } });
  const user = await call(h, 'POST', '/v3/users', { token, body: { user: { name: 'au', password: 'pw' } } });
  const roles = await call(h, 'GET', '/v3/roles', { token });
  const role = (name: string) => roles.body.roles!.find((r) => r.name === name)!.id;
  ids = {
    project: project.body.project!.id,
    user: user.body.user!.id,
    member: role('member'),
    reader: role('reader'),
    admin: role('admin'),
  };
});
after(() => h.close());

const admin = () => h.admin.token;
const grantUrl = (role: string) => `/v3/projects/${ids.project}/users/${ids.user}/roles/${role}`;

test('PUT grants (idempotently), HEAD checks, GET lists, DELETE revokes', async () => {
  assert.equal((await call(h, 'HEAD', grantUrl(ids.member), { token: admin() })).status, 404);
  assert.equal((await call(h, 'PUT', grantUrl(ids.member), { token: admin() })).status, 204);
  assert.equal((await call(h, 'PUT', grantUrl(ids.member), { token: admin() })).status, 204);
  assert.equal((await call(h, 'HEAD', grantUrl(ids.member), { token: admin() })).status, 204);
  const list = await call(h, 'GET', `/v3/projects/${ids.project}/users/${ids.user}/roles`, { token: admin() });
  assert.deepEqual(
    list.body.roles!.map((r) => r.name),
    ['member'],
  );
  const token = await login(h, 'au', 'pw', 'ap');
  assert.equal((await call(h, 'DELETE', grantUrl(ids.member), { token: admin() })).status, 204);
  assert.equal((await call(h, 'DELETE', grantUrl(ids.member), { token: admin() })).status, 404);
  // The cached validation was dropped with the grant: no role left, so the token is refused.
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 401);
});

test('granting on unknown project, user or role is a 404 naming it', async () => {
  const cases: [string, RegExp][] = [
    [`/v3/projects/nope/users/${ids.user}/roles/${ids.member}`, /project: nope/],
    [`/v3/projects/${ids.project}/users/nope/roles/${ids.member}`, /user: nope/],
    [`/v3/projects/${ids.project}/users/${ids.user}/roles/nope`, /role: nope/],
  ];
  for (const [url, message] of cases) {
    const res = await call(h, 'PUT', url, { token: admin() });
    assert.equal(res.status, 404, url);
    assert.match(res.body.error!.message, message);
  }
});

test("a new grant shows in the roles of the user's token", async () => {
  await call(h, 'PUT', grantUrl(ids.reader), { token: admin() });
  const token = await login(h, 'au', 'pw', 'ap');
  const before = await call(h, 'GET', '/v3/auth/tokens', { token, headers: { 'x-subject-token': token } });
  assert.deepEqual(
    before.body.token!.roles!.map((r) => r.name),
    ['reader'],
  );
  await call(h, 'PUT', grantUrl(ids.admin), { token: admin() });
  const after = await call(h, 'GET', '/v3/auth/tokens', { token, headers: { 'x-subject-token': token } });
  assert.deepEqual(after.body.token!.roles!.map((r) => r.name).sort(), ['admin', 'member', 'reader']);
  await call(h, 'DELETE', grantUrl(ids.admin), { token: admin() });
});

test('GET /v3/role_assignments filters by user and project, with names on request', async () => {
  const res = await call(h, 'GET', `/v3/role_assignments?user.id=${ids.user}&scope.project.id=${ids.project}`, {
    token: admin(),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.role_assignments, [
    {
      role: { id: ids.reader },
      user: { id: ids.user },
      scope: { project: { id: ids.project } },
      links: { assignment: `http://localhost:80/v3/projects/${ids.project}/users/${ids.user}/roles/${ids.reader}` },
    },
  ]);
  const named = await call(h, 'GET', `/v3/role_assignments?user.id=${ids.user}&include_names`, { token: admin() });
  const [a] = named.body.role_assignments!;
  assert.deepEqual(a!.role, { id: ids.reader, name: 'reader' });
  assert.deepEqual(a!.user, { id: ids.user, name: 'au', domain: { id: 'default', name: 'Default' } });
  assert.deepEqual(a!.scope.project, { id: ids.project, name: 'ap', domain: { id: 'default', name: 'Default' } });
  const all = await call(h, 'GET', '/v3/role_assignments', { token: admin() });
  assert.equal(all.body.role_assignments!.length, 2);
  const groups = await call(h, 'GET', '/v3/role_assignments?group.id=g', { token: admin() });
  assert.deepEqual(groups.body.role_assignments, []);
});

test('?effective adds the roles an assignment implies, with the prior role linked', async () => {
  const res = await call(h, 'GET', `/v3/role_assignments?user.id=${h.admin.userId}&effective&include_names=1`, {
    token: admin(),
  });
  const roles = res.body.role_assignments!.map((a) => a.role.name);
  assert.deepEqual(roles, ['admin', 'member', 'reader']);
  const reader = res.body.role_assignments!.find((a) => a.role.name === 'reader')!;
  assert.equal(reader.links.prior_role, `http://localhost:80/v3/roles/${ids.member}`);
  const onlyReader = await call(
    h,
    'GET',
    `/v3/role_assignments?user.id=${h.admin.userId}&effective&role.id=${ids.reader}`,
    {
      token: admin(),
    },
  );
  assert.deepEqual(
    onlyReader.body.role_assignments!.map((a) => a.role.id),
    [ids.reader],
  );
});

test('domain grants allow a domain-scoped token', async () => {
  const url = `/v3/domains/default/users/${ids.user}/roles/${ids.member}`;
  assert.equal((await call(h, 'PUT', url, { token: admin() })).status, 204);
  const res = await call(h, 'POST', '/v3/auth/tokens', {
    body: {
      auth: {
        identity: { methods: ['password'], password: { user: { id: ids.user, password: 'pw' } } },
        scope: { domain: { name: 'Default' } },
      },
    },
  });
  assert.equal(res.status, 201);
  assert.deepEqual(res.body.token!.domain, { id: 'default', name: 'Default' });
  assert.deepEqual(
    res.body.token!.roles!.map((r) => r.name),
    ['member', 'reader'],
  );
  const token = String(res.headers['x-subject-token']);
  const domains = await call(h, 'GET', '/v3/auth/domains', { token });
  assert.deepEqual(
    domains.body.domains!.map((d) => d.id),
    ['default'],
  );
  const listed = await call(h, 'GET', '/v3/role_assignments?scope.domain.id=default', { token: admin() });
  assert.deepEqual(
    listed.body.role_assignments!.map((a) => a.scope.domain!.id),
    ['default'],
  );
  assert.equal((await call(h, 'DELETE', url, { token: admin() })).status, 204);
  assert.equal((await call(h, 'GET', '/v3/auth/domains', { token })).status, 401);
});

test('assignments are admin-only', async () => {
  const token = await login(h, 'au', 'pw', 'ap');
  assert.equal((await call(h, 'PUT', grantUrl(ids.admin), { token })).status, 403);
  assert.equal((await call(h, 'GET', '/v3/role_assignments', { token })).status, 403);
});
