import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, call, login, makeMember, passwordAuth, startIdentity, type Harness } from './harness.ts';

const AUTH_REQUIRED = 'The request you have made requires authentication.';
let h: Harness;
let member: { userId: string; projectId: string };

before(async () => {
  h = await startIdentity({ overrides: { token: { expiration: '60' } } });
  member = await makeMember(h, { user: 'alice', project: 'p1', password: 'alice-pw' });
});
after(() => h.close());

const issue = (body: unknown, query = '') => call(h, 'POST', `/v3/auth/tokens${query}`, { body });

test('password auth with names, scoped to a project by name', async () => {
  const res = await issue(passwordAuth('admin', ADMIN_PASSWORD, 'admin'));
  assert.equal(res.status, 201);
  assert.match(String(res.headers['x-subject-token']), /^[\w-]{43}$/);
  const t = res.body.token!;
  assert.deepEqual(t.methods, ['password']);
  assert.deepEqual(t.user, {
    id: h.admin.userId,
    name: 'admin',
    domain: { id: 'default', name: 'Default' },
    password_expires_at: null,
  });
  assert.deepEqual(t.project, { id: h.admin.projectId, name: 'admin', domain: { id: 'default', name: 'Default' } });
  assert.equal(t.is_domain, false);
  assert.deepEqual(t.roles!.map((r) => r.name).sort(), ['admin', 'member', 'reader']);
  assert.equal(t.audit_ids.length, 1);
  assert.match(t.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.equal(Date.parse(t.expires_at) - Date.parse(t.issued_at), 60_000);
  assert.deepEqual(t.catalog!.map((s) => s.type).sort(), ['compute', 'identity', 'image', 'network']);
});

test('password auth with ids, scoped to a project by id', async () => {
  const res = await issue({
    auth: {
      identity: { methods: ['password'], password: { user: { id: member.userId, password: 'alice-pw' } } },
      scope: { project: { id: member.projectId } },
    },
  });
  assert.equal(res.status, 201);
  assert.equal(res.body.token!.project!.name, 'p1');
  assert.deepEqual(
    res.body.token!.roles!.map((r) => r.name),
    ['member', 'reader'],
  );
});

test('user and project named within a domain given by id', async () => {
  const res = await issue({
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: 'alice', domain: { id: 'default' }, password: 'alice-pw' } },
      },
      scope: { project: { name: 'p1', domain: { id: 'default' } } },
    },
  });
  assert.equal(res.status, 201);
});

test('without a scope the token is unscoped: no project, roles or catalog', async () => {
  const res = await issue(passwordAuth('alice', 'alice-pw'));
  assert.equal(res.status, 201);
  const t = res.body.token!;
  assert.equal(t.project, undefined);
  assert.equal(t.roles, undefined);
  assert.equal(t.catalog, undefined);
});

test('?nocatalog leaves the catalog out', async () => {
  const res = await issue(passwordAuth('alice', 'alice-pw', 'p1'), '?nocatalog');
  assert.equal(res.status, 201);
  assert.equal(res.body.token!.catalog, undefined);
  assert.ok(res.body.token!.roles);
});

test('no scope asked: the default project when the user has a role there, else unscoped', async () => {
  const token = h.admin.token;
  await call(h, 'PATCH', `/v3/users/${member.userId}`, {
    token,
    body: { user: { default_project_id: member.projectId } },
  });
  const scoped = await issue(passwordAuth('alice', 'alice-pw'));
  assert.equal(scoped.body.token!.project!.id, member.projectId);
  const explicit = await issue({ auth: { ...passwordAuth('alice', 'alice-pw').auth, scope: 'unscoped' } });
  assert.equal(explicit.body.token!.project, undefined);
  await call(h, 'PATCH', `/v3/users/${member.userId}`, {
    token,
    body: { user: { default_project_id: h.admin.projectId } },
  });
  const noRole = await issue(passwordAuth('alice', 'alice-pw'));
  assert.equal(noRole.status, 201);
  assert.equal(noRole.body.token!.project, undefined);
  await call(h, 'PATCH', `/v3/users/${member.userId}`, { token, body: { user: { default_project_id: null } } });
});

test('bad credentials are one 401 whatever was wrong', async () => {
  const cases = [
    passwordAuth('alice', 'wrong'),
    passwordAuth('nobody', 'alice-pw'),
    passwordAuth('alice', 'alice-pw', undefined, 'NoSuchDomain'),
    { auth: { identity: { methods: ['password'], password: { user: { id: 'nope', password: 'x' } } } } },
  ];
  for (const body of cases) {
    const res = await issue(body);
    assert.equal(res.status, 401, JSON.stringify(body));
    assert.deepEqual(res.body, { error: { code: 401, title: 'Unauthorized', message: AUTH_REQUIRED } });
    assert.equal(res.headers['x-subject-token'], undefined);
  }
});

test('a disabled user cannot authenticate, and its tokens stop working', async () => {
  const bob = await makeMember(h, { user: 'bob', project: 'p-bob', password: 'bob-pw' });
  const token = await login(h, 'bob', 'bob-pw', 'p-bob');
  await call(h, 'PATCH', `/v3/users/${bob.userId}`, { token: h.admin.token, body: { user: { enabled: false } } });
  assert.equal((await issue(passwordAuth('bob', 'bob-pw'))).status, 401);
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 401);
});

test('scoping to a disabled project, an unknown one or one without a role is a 401', async () => {
  const carol = await makeMember(h, { user: 'carol', project: 'p-carol', password: 'c' });
  assert.equal((await issue(passwordAuth('carol', 'c', 'admin'))).status, 401);
  assert.match((await issue(passwordAuth('carol', 'c', 'admin'))).body.error!.message, /has no role on project/);
  assert.equal((await issue(passwordAuth('carol', 'c', 'no-such-project'))).status, 401);
  await call(h, 'PATCH', `/v3/projects/${carol.projectId}`, {
    token: h.admin.token,
    body: { project: { enabled: false } },
  });
  assert.equal((await issue(passwordAuth('carol', 'c', 'p-carol'))).status, 401);
});

test('malformed auth requests are 400s with a message', async () => {
  const cases: [unknown, RegExp][] = [
    [{}, /'auth' is a required property/],
    [{ auth: {} }, /'identity' is a required property/],
    [{ auth: { identity: { methods: [] } } }, /auth\.identity\.methods/],
    [
      { auth: { identity: { methods: ['password'], password: { user: { name: 'alice', password: 'x' } } } } },
      /needs its domain/,
    ],
    [{ auth: { identity: { methods: ['password'], password: { user: { password: 'x' } } } } }, /id, or its name/],
    [{ auth: { identity: { methods: ['password'], password: { user: { id: 'x', password: 1 } } } } }, /password/],
    [{ auth: { ...passwordAuth('alice', 'alice-pw').auth, scope: { project: { name: 'p1' } } } }, /needs its domain/],
    [{ auth: { ...passwordAuth('alice', 'alice-pw').auth, scope: { system: { all: true } } } }, /System-scoped/],
  ];
  for (const [body, message] of cases) {
    const res = await issue(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(res.body.error!.message, message);
  }
});

test('an unsupported method is a 401', async () => {
  const res = await issue({ auth: { identity: { methods: ['totp'], totp: {} } } });
  assert.equal(res.status, 401);
  assert.match(res.body.error!.message, /unsupported method: totp/);
});

test('the token method rescopes a token, keeping its expiry', async () => {
  const unscoped = await issue(passwordAuth('alice', 'alice-pw'));
  const id = String(unscoped.headers['x-subject-token']);
  h.clock.advance(10);
  const res = await issue({
    auth: { identity: { methods: ['token'], token: { id } }, scope: { project: { id: member.projectId } } },
  });
  assert.equal(res.status, 201);
  const t = res.body.token!;
  assert.deepEqual(t.methods, ['token', 'password']);
  assert.equal(t.project!.id, member.projectId);
  assert.equal(t.expires_at, unscoped.body.token!.expires_at);
  assert.deepEqual(t.audit_ids.slice(1), unscoped.body.token!.audit_ids);
  const bad = await issue({ auth: { identity: { methods: ['token'], token: { id: 'bogus' } } } });
  assert.equal(bad.status, 401);
});

test('GET and HEAD /v3/auth/tokens validate a token for its holder and for admins', async () => {
  const subject = await login(h, 'alice', 'alice-pw', 'p1');
  const byAdmin = await call(h, 'GET', '/v3/auth/tokens', {
    token: h.admin.token,
    headers: { 'x-subject-token': subject },
  });
  assert.equal(byAdmin.status, 200);
  assert.equal(byAdmin.headers['x-subject-token'], subject);
  assert.equal(byAdmin.body.token!.user.name, 'alice');
  assert.equal(byAdmin.body.token!.project!.id, member.projectId);
  assert.ok(byAdmin.body.token!.catalog);
  const noCatalog = await call(h, 'GET', '/v3/auth/tokens?nocatalog', {
    token: subject,
    headers: { 'x-subject-token': subject },
  });
  assert.equal(noCatalog.status, 200);
  assert.equal(noCatalog.body.token!.catalog, undefined);
  const head = await call(h, 'HEAD', '/v3/auth/tokens', {
    token: h.admin.token,
    headers: { 'x-subject-token': subject },
  });
  assert.equal(head.status, 200);
  assert.equal(head.raw, '');
});

test("validating someone else's token needs admin; bad subjects are 404, a missing one 400", async () => {
  const alice = await login(h, 'alice', 'alice-pw', 'p1');
  const other = await call(h, 'GET', '/v3/auth/tokens', {
    token: alice,
    headers: { 'x-subject-token': h.admin.token },
  });
  assert.equal(other.status, 403);
  const bogus = await call(h, 'GET', '/v3/auth/tokens', { token: alice, headers: { 'x-subject-token': 'bogus' } });
  assert.equal(bogus.status, 404);
  assert.equal((await call(h, 'GET', '/v3/auth/tokens', { token: alice })).status, 400);
  const anonymous = await call(h, 'GET', '/v3/auth/tokens', { headers: { 'x-subject-token': alice } });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.error!.message, AUTH_REQUIRED);
});

test('DELETE /v3/auth/tokens revokes the token everywhere at once', async () => {
  const subject = await login(h, 'alice', 'alice-pw', 'p1');
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token: subject })).status, 200);
  const del = await call(h, 'DELETE', '/v3/auth/tokens', {
    token: h.admin.token,
    headers: { 'x-subject-token': subject },
  });
  assert.equal(del.status, 204);
  assert.equal(
    (await call(h, 'GET', '/v3/auth/tokens', { token: h.admin.token, headers: { 'x-subject-token': subject } })).status,
    404,
  );
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token: subject })).status, 401);
  assert.equal(
    (await call(h, 'DELETE', '/v3/auth/tokens', { token: h.admin.token, headers: { 'x-subject-token': subject } }))
      .status,
    404,
  );
});

test('a user may revoke its own token', async () => {
  const subject = await login(h, 'alice', 'alice-pw', 'p1');
  const del = await call(h, 'DELETE', '/v3/auth/tokens', { token: subject, headers: { 'x-subject-token': subject } });
  assert.equal(del.status, 204);
});

test('tokens expire after [token] expiration', async () => {
  const token = await login(h, 'alice', 'alice-pw', 'p1');
  h.clock.advance(61);
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 401);
  h.admin.token = await login(h, 'admin', ADMIN_PASSWORD, 'admin');
});

test('a token of one project does not open another', async () => {
  const alice = await login(h, 'alice', 'alice-pw', 'p1');
  assert.equal((await call(h, 'GET', `/v3/projects/${member.projectId}`, { token: alice })).status, 200);
  assert.equal((await call(h, 'GET', `/v3/projects/${h.admin.projectId}`, { token: alice })).status, 403);
  assert.equal((await call(h, 'GET', '/v3/projects', { token: alice })).status, 403);
});

test('/v3/auth/catalog, /v3/auth/projects and /v3/auth/domains describe the caller', async () => {
  const alice = await login(h, 'alice', 'alice-pw', 'p1');
  const catalog = await call(h, 'GET', '/v3/auth/catalog', { token: alice });
  assert.equal(catalog.status, 200);
  assert.equal(catalog.body.catalog!.length, 4);
  const projects = await call(h, 'GET', '/v3/auth/projects', { token: alice });
  assert.deepEqual(
    projects.body.projects!.map((p) => p.name),
    ['p1'],
  );
  assert.match(projects.body.links!.self, /\/v3\/auth\/projects$/);
  const domains = await call(h, 'GET', '/v3/auth/domains', { token: alice });
  assert.deepEqual(domains.body.domains, []);
  const unscoped = await login(h, 'alice', 'alice-pw');
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token: unscoped })).status, 403);
  assert.equal((await call(h, 'GET', '/v3/auth/projects')).status, 401);
});
