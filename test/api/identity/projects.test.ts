import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, login, makeMember, startIdentity, type Harness } from './harness.ts';

let h: Harness;
let memberToken: string;
before(async () => {
  h = await startIdentity();
  await makeMember(h, { user: 'm', project: 'mp', password: 'pw' });
  memberToken = await login(h, 'm', 'pw', 'mp');
});
after(() => h.close());

const admin = () => h.admin.token;

test('create returns 201 and the project in Keystone form', async () => {
  const res = await call(h, 'POST', '/v3/projects', {
    token: admin(),
    body: { project: { name: 'web', description: 'front ends', enabled: true, tags: [], options: {} } },
    headers: { host: 'id.example:5000' },
  });
  assert.equal(res.status, 201);
  const p = res.body.project!;
  assert.match(p.id, /^[0-9a-f]{32}$/);
  assert.deepEqual(p, {
    id: p.id,
    name: 'web',
    domain_id: 'default',
    description: 'front ends',
    enabled: true,
    parent_id: 'default',
    is_domain: false,
    tags: [],
    options: {},
    links: { self: `http://id.example:5000/v3/projects/${p.id}` },
  });
});

test('a duplicate name in the domain is a 409', async () => {
  await call(h, 'POST', '/v3/projects', { token: admin(), body: { project: { name: 'dup' } } });
  const res = await call(h, 'POST', '/v3/projects', { token: admin(), body: { project: { name: 'dup' } } });
  assert.equal(res.status, 409);
  assert.match(res.body.error!.message, /project named 'dup'/);
});

test('invalid bodies are 400s that name the problem', async () => {
  const cases: [unknown, RegExp][] = [
    [{}, /'project' is a required property/],
    [{ project: {} }, /'name' is a required property/],
    [{ project: { name: '' } }, /project\.name/],
    [{ project: { name: 'x'.repeat(65) } }, /more than 64 characters/],
    [{ project: { name: '   ' } }, /pattern/],
    [{ project: { name: 42 } }, /must be string/],
    [{ project: { name: 'ok', enabled: 'yes' } }, /must be boolean/],
    [{ project: { name: 'ok', color: 'red' } }, /'color' was unexpected/],
    [{ project: { name: 'ok', tags: ['a'] } }, /tags/],
    [{ project: { name: 'ok', is_domain: true } }, /acting as domains/],
  ];
  for (const [body, message] of cases) {
    const res = await call(h, 'POST', '/v3/projects', { token: admin(), body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(res.body.error!.message, message, JSON.stringify(body));
  }
  assert.equal((await call(h, 'GET', '/v3/projects?name=ok', { token: admin() })).body.projects!.length, 0);
});

test('an unknown domain is a 404', async () => {
  const res = await call(h, 'POST', '/v3/projects', {
    token: admin(),
    body: { project: { name: 'x', domain_id: 'nope' } },
  });
  assert.equal(res.status, 404);
});

test('list filters by name and domain_id', async () => {
  await call(h, 'POST', '/v3/projects', { token: admin(), body: { project: { name: 'findme' } } });
  const byName = await call(h, 'GET', '/v3/projects?name=findme', { token: admin() });
  assert.deepEqual(
    byName.body.projects!.map((p) => p.name),
    ['findme'],
  );
  assert.deepEqual(byName.body.links, { self: 'http://localhost:80/v3/projects', previous: null, next: null });
  const byDomain = await call(h, 'GET', '/v3/projects?domain_id=default', { token: admin() });
  assert.ok(byDomain.body.projects!.length >= 3);
  const none = await call(h, 'GET', '/v3/projects?domain_id=other', { token: admin() });
  assert.deepEqual(none.body.projects, []);
});

test('show, update and delete; unknown ids are 404', async () => {
  const created = await call(h, 'POST', '/v3/projects', { token: admin(), body: { project: { name: 'life' } } });
  const id = created.body.project!.id;
  assert.equal((await call(h, 'GET', `/v3/projects/${id}`, { token: admin() })).body.project!.name, 'life');
  const patched = await call(h, 'PATCH', `/v3/projects/${id}`, {
    token: admin(),
    body: { project: { name: 'life2', description: 'renamed', enabled: false } },
  });
  assert.equal(patched.status, 200);
  assert.equal(patched.body.project!.name, 'life2');
  assert.equal(patched.body.project!.enabled, false);
  assert.equal((await call(h, 'PATCH', `/v3/projects/${id}`, { token: admin(), body: { project: {} } })).status, 400);
  assert.equal((await call(h, 'DELETE', `/v3/projects/${id}`, { token: admin() })).status, 204);
  assert.equal((await call(h, 'GET', `/v3/projects/${id}`, { token: admin() })).status, 404);
  assert.equal((await call(h, 'DELETE', `/v3/projects/${id}`, { token: admin() })).status, 404);
  assert.equal(
    (await call(h, 'PATCH', `/v3/projects/${id}`, { token: admin(), body: { project: { name: 'x' } } })).status,
    404,
  );
});

test('renaming onto an existing name is a 409', async () => {
  const a = await call(h, 'POST', '/v3/projects', { token: admin(), body: { project: { name: 'ren-a' } } });
  await call(h, 'POST', '/v3/projects', { token: admin(), body: { project: { name: 'ren-b' } } });
  const res = await call(h, 'PATCH', `/v3/projects/${a.body.project!.id}`, {
    token: admin(),
    body: { project: { name: 'ren-b' } },
  });
  assert.equal(res.status, 409);
});

test("a child project needs its parent in the same domain, and blocks the parent's deletion", async () => {
  const parent = await call(h, 'POST', '/v3/projects', { token: admin(), body: { project: { name: 'parent' } } });
  const parentId = parent.body.project!.id;
  const child = await call(h, 'POST', '/v3/projects', {
    token: admin(),
    body: { project: { name: 'child', parent_id: parentId } },
  });
  assert.equal(child.status, 201);
  assert.equal(child.body.project!.parent_id, parentId);
  assert.equal((await call(h, 'DELETE', `/v3/projects/${parentId}`, { token: admin() })).status, 403);
  assert.equal((await call(h, 'DELETE', `/v3/projects/${child.body.project!.id}`, { token: admin() })).status, 204);
  assert.equal((await call(h, 'DELETE', `/v3/projects/${parentId}`, { token: admin() })).status, 204);
});

test('deleting a project revokes the tokens scoped to it and its assignments', async () => {
  const member = await makeMember(h, { user: 'gone-user', project: 'gone', password: 'pw' });
  const token = await login(h, 'gone-user', 'pw', 'gone');
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 200);
  assert.equal((await call(h, 'DELETE', `/v3/projects/${member.projectId}`, { token: admin() })).status, 204);
  assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 401);
  const left = await call(h, 'GET', `/v3/role_assignments?scope.project.id=${member.projectId}`, { token: admin() });
  assert.deepEqual(left.body.role_assignments, []);
});

test('non-admins get 403 for management', async () => {
  const token = memberToken;
  assert.equal((await call(h, 'POST', '/v3/projects', { token, body: { project: { name: 'nope' } } })).status, 403);
  assert.equal((await call(h, 'GET', '/v3/projects', { token })).status, 403);
  const mine = await call(h, 'GET', '/v3/auth/projects', { token });
  const id = mine.body.projects![0]!.id;
  assert.equal((await call(h, 'PATCH', `/v3/projects/${id}`, { token, body: { project: { name: 'x' } } })).status, 403);
  const del = await call(h, 'DELETE', `/v3/projects/${id}`, { token });
  assert.equal(del.status, 403);
  assert.match(del.body.error!.message, /identity:delete_project/);
});
