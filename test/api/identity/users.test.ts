import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, login, makeMember, passwordAuth, startIdentity, type Harness } from './harness.ts';

let h: Harness;
before(async () => void (h = await startIdentity()));
after(() => h.close());

const admin = () => h.admin.token;

test('create with a password returns 201 without any password field; the user can log in', async () => {
  const res = await call(h, 'POST', '/v3/users', {
    token: admin(),
    body: { user: { name: 'dana', password: 's3cret', email: 'dana@example.com', description: 'ops', enabled: true } },
  });
  assert.equal(res.status, 201);
  const u = res.body.user!;
  assert.deepEqual(u, {
    id: u.id,
    name: 'dana',
    domain_id: 'default',
    enabled: true,
    password_expires_at: null,
    options: {},
    email: 'dana@example.com',
    description: 'ops',
    links: { self: `http://localhost:80/v3/users/${u.id}` },
  });
  assert.ok(!res.raw.includes('s3cret'));
  const row = await h.database.db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', u.id)
    .executeTakeFirstOrThrow();
  assert.match(row.password_hash!, /^scrypt\$/);
  assert.equal((await call(h, 'POST', '/v3/auth/tokens', { body: passwordAuth('dana', 's3cret') })).status, 201);
});

test('a user without a password cannot log in', async () => {
  await call(h, 'POST', '/v3/users', { token: admin(), body: { user: { name: 'nopw' } } });
  assert.equal((await call(h, 'POST', '/v3/auth/tokens', { body: passwordAuth('nopw', '') })).status, 401);
});

test('duplicates are 409, bad bodies 400', async () => {
  await call(h, 'POST', '/v3/users', { token: admin(), body: { user: { name: 'twice' } } });
  assert.equal((await call(h, 'POST', '/v3/users', { token: admin(), body: { user: { name: 'twice' } } })).status, 409);
  const cases: [unknown, RegExp][] = [
    [{ user: { name: 'x'.repeat(256) } }, /more than 255 characters/],
    [{ user: { name: 'ok', password: 5 } }, /user\.password/],
    [{ user: { name: 'ok', shoe_size: 9 } }, /'shoe_size' was unexpected/],
    [{ user: { name: 'ok', password: 'p'.repeat(4097) } }, /user\.password/],
    [{ user: {} }, /'name' is a required property/],
  ];
  for (const [body, message] of cases) {
    const res = await call(h, 'POST', '/v3/users', { token: admin(), body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(res.body.error!.message, message);
  }
});

test('list filters by name; show, update and delete', async () => {
  const created = await call(h, 'POST', '/v3/users', {
    token: admin(),
    body: { user: { name: 'erin', password: 'a' } },
  });
  const id = created.body.user!.id;
  const list = await call(h, 'GET', '/v3/users?name=erin', { token: admin() });
  assert.deepEqual(
    list.body.users!.map((u) => u.id),
    [id],
  );
  assert.equal((await call(h, 'GET', `/v3/users/${id}`, { token: admin() })).body.user!.name, 'erin');
  const patched = await call(h, 'PATCH', `/v3/users/${id}`, {
    token: admin(),
    body: { user: { name: 'erin2', email: 'e@x' } },
  });
  assert.equal(patched.body.user!.name, 'erin2');
  assert.equal(patched.body.user!.email, 'e@x');
  assert.equal((await call(h, 'DELETE', `/v3/users/${id}`, { token: admin() })).status, 204);
  assert.equal((await call(h, 'GET', `/v3/users/${id}`, { token: admin() })).status, 404);
  assert.equal((await call(h, 'DELETE', `/v3/users/${id}`, { token: admin() })).status, 404);
});

test("a new password or deletion ends the user's sessions", async () => {
  const { userId } = await makeMember(h, { user: 'fay', project: 'fp', password: 'old' });
  let token = await login(h, 'fay', 'old', 'fp');
  await call(h, 'PATCH', `/v3/users/${userId}`, { token: admin(), body: { user: { password: 'new' } } });
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 401);
  assert.equal((await call(h, 'POST', '/v3/auth/tokens', { body: passwordAuth('fay', 'old') })).status, 401);
  token = await login(h, 'fay', 'new', 'fp');
  await call(h, 'DELETE', `/v3/users/${userId}`, { token: admin() });
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 401);
  const left = await call(h, 'GET', `/v3/role_assignments?user.id=${userId}`, { token: admin() });
  assert.deepEqual(left.body.role_assignments, []);
});

test('a user may read itself and change its own password, nothing more', async () => {
  const { userId } = await makeMember(h, { user: 'gus', project: 'gp', password: 'one' });
  const token = await login(h, 'gus', 'one', 'gp');
  assert.equal((await call(h, 'GET', `/v3/users/${userId}`, { token })).status, 200);
  assert.equal((await call(h, 'GET', `/v3/users/${h.admin.userId}`, { token })).status, 403);
  assert.equal((await call(h, 'GET', '/v3/users', { token })).status, 403);
  assert.equal((await call(h, 'POST', '/v3/users', { token, body: { user: { name: 'z' } } })).status, 403);
  assert.equal(
    (await call(h, 'PATCH', `/v3/users/${userId}`, { token, body: { user: { enabled: true } } })).status,
    403,
  );
  assert.equal((await call(h, 'DELETE', `/v3/users/${h.admin.userId}`, { token })).status, 403);
  const projects = await call(h, 'GET', `/v3/users/${userId}/projects`, { token });
  assert.deepEqual(
    projects.body.projects!.map((p) => p.name),
    ['gp'],
  );

  const wrong = await call(h, 'POST', `/v3/users/${userId}/password`, {
    token,
    body: { user: { original_password: 'nope', password: 'two' } },
  });
  assert.equal(wrong.status, 401);
  const other = await call(h, 'POST', `/v3/users/${h.admin.userId}/password`, {
    token,
    body: { user: { original_password: 'one', password: 'two' } },
  });
  assert.equal(other.status, 403);
  const ok = await call(h, 'POST', `/v3/users/${userId}/password`, {
    token,
    body: { user: { original_password: 'one', password: 'two' } },
  });
  assert.equal(ok.status, 204);
  assert.equal((await call(h, 'GET', `/v3/users/${userId}`, { token })).status, 401);
  await login(h, 'gus', 'two', 'gp');
});
