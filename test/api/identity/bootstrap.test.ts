import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { verifyPassword } from '../../../src/api/auth/password-hash.ts';
import { bootstrapIdentity, writeOpenrc } from '../../../src/api/identity/bootstrap.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { FAST_PASSWORD_HASH_ROUNDS } from '../../helpers/fast-hashing.ts';

let database: TestDatabase;
const config = loadConfig([], { identity: { password_hash_rounds: FAST_PASSWORD_HASH_ROUNDS } });
before(async () => void (database = await openTestDatabase()));
after(() => database.close());

async function counts() {
  const db = database.db;
  const n = async (table: 'domains' | 'projects' | 'users' | 'roles' | 'role_assignments') =>
    (await db.selectFrom(table).selectAll().execute()).length;
  return {
    domains: await n('domains'),
    projects: await n('projects'),
    users: await n('users'),
    roles: await n('roles'),
    assignments: await n('role_assignments'),
  };
}

async function passwordHashOf(userId: string): Promise<string> {
  const row = await database.db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  return row.password_hash!;
}

test('the first run creates domain, roles, admin user, project and grant, generating a password', async () => {
  const first = await bootstrapIdentity(database, config);
  assert.equal(first.generated, true);
  assert.ok(first.password && first.password.length >= 20);
  assert.deepEqual(await counts(), { domains: 1, projects: 1, users: 1, roles: 3, assignments: 1 });
  const domain = await database.db.selectFrom('domains').selectAll().executeTakeFirstOrThrow();
  assert.deepEqual([domain.id, domain.name, domain.enabled], ['default', 'Default', 1]);
  assert.equal(await verifyPassword(first.password!, await passwordHashOf(first.userId)), true);

  const again = await bootstrapIdentity(database, config);
  assert.deepEqual(again, { password: null, generated: false, userId: first.userId, projectId: first.projectId });
  assert.deepEqual(await counts(), { domains: 1, projects: 1, users: 1, roles: 3, assignments: 1 });
  assert.equal(await verifyPassword(first.password!, await passwordHashOf(first.userId)), true, 'password kept');
});

test('a given password replaces the existing one and re-enables the admin', async () => {
  const before = await bootstrapIdentity(database, config);
  await database.db.updateTable('users').set({ enabled: 0 }).where('id', '=', before.userId).execute();
  const result = await bootstrapIdentity(database, config, { password: 'chosen' });
  assert.deepEqual([result.password, result.generated, result.userId], ['chosen', false, before.userId]);
  assert.equal(await verifyPassword('chosen', await passwordHashOf(before.userId)), true);
  const user = await database.db
    .selectFrom('users')
    .select('enabled')
    .where('id', '=', before.userId)
    .executeTakeFirstOrThrow();
  assert.equal(user.enabled, 1);
});

test('other names make another admin user, project and role alongside', async () => {
  const result = await bootstrapIdentity(database, config, {
    adminUser: 'root',
    adminProject: 'ops',
    adminRole: 'superuser',
    password: 'x',
  });
  const c = await counts();
  assert.deepEqual(c, { domains: 1, projects: 2, users: 2, roles: 4, assignments: 2 });
  assert.equal(result.password, 'x');
});

test('concurrent runs agree on one set of rows', async () => {
  const fresh = await openTestDatabase();
  try {
    const results = await Promise.all([1, 2, 3].map(() => bootstrapIdentity(fresh, config)));
    assert.equal(new Set(results.map((r) => r.userId)).size, 1);
    assert.equal(results.filter((r) => r.password !== null).length, 1, 'exactly one run set the password');
  } finally {
    await fresh.close();
  }
});

test('writeOpenrc writes a 0600 file that a shell can source', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-openrc-'));
  try {
    const path = join(dir, 'state', 'openrc');
    const fields = {
      authUrl: 'http://127.0.0.1:5000/v3',
      username: 'admin',
      password: `it's $ecret`,
      projectName: 'admin',
      region: 'RegionOne',
    };
    await writeOpenrc(path, fields);
    await writeOpenrc(path, fields);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const text = await readFile(path, 'utf8');
    for (const name of ['OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD', 'OS_PROJECT_NAME', 'OS_REGION_NAME']) {
      assert.match(text, new RegExp(`^export ${name}=`, 'm'));
    }
    const env = execFileSync('bash', ['-c', `. '${path}' && env`], { encoding: 'utf8', env: {} });
    const vars = Object.fromEntries(
      env
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.equal(vars['OS_PASSWORD'], `it's $ecret`);
    assert.equal(vars['OS_AUTH_URL'], 'http://127.0.0.1:5000/v3');
    assert.equal(vars['OS_USER_DOMAIN_NAME'], 'Default');
    assert.equal(vars['OS_PROJECT_DOMAIN_NAME'], 'Default');
    assert.equal(vars['OS_IDENTITY_API_VERSION'], '3');
    assert.equal(vars['OS_REGION_NAME'], 'RegionOne');
    assert.equal(vars['OS_INTERFACE'], 'public');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
