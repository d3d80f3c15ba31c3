import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, type RawOverrides } from '../../../src/common/config/load-config.ts';
import { Unauthorized } from '../../../src/common/errors.ts';
import { TokenService } from '../../../src/api/auth/token-service.ts';
import { hashTokenId } from '../../../src/api/auth/token-id.ts';
import { bootstrapIdentity } from '../../../src/api/identity/bootstrap.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';

let database: TestDatabase;
let admin: { userId: string; projectId: string };

before(async () => {
  database = await openTestDatabase();
  admin = await bootstrapIdentity(database, loadConfig(), { password: 'pw' });
});
after(() => database.close());

function service(overrides: RawOverrides = {}) {
  const clock = { now: Date.now() };
  const tokens = new TokenService(database, loadConfig([], overrides), { clock: () => clock.now });
  const advance = (seconds: number) => void (clock.now += seconds * 1000);
  return { tokens, clock, advance };
}

const isUnauthorized = (err: unknown) => err instanceof Unauthorized;

test('an issued token validates to its user, project and effective roles', async () => {
  const { tokens } = service();
  const { token, info } = await tokens.issue({
    userId: admin.userId,
    scope: { project: admin.projectId },
    methods: ['password'],
  });
  const v = await tokens.validate(token);
  assert.equal(v.userId, admin.userId);
  assert.equal(v.userName, 'admin');
  assert.equal(v.userDomainId, 'default');
  assert.equal(v.projectId, admin.projectId);
  assert.equal(v.projectName, 'admin');
  assert.deepEqual(v.roles.map((r) => r.name).sort(), ['admin', 'member', 'reader']);
  assert.deepEqual(v.methods, ['password']);
  assert.equal(v.auditIds.length, 1);
  assert.match(v.auditId, /^[\w-]{22}$/);
  assert.deepEqual(info, v);
  assert.match(token, /^[\w-]{43}$/);
});

test('only the hash of a token is stored', async () => {
  const { tokens } = service();
  const { token } = await tokens.issue({ userId: admin.userId, scope: null, methods: ['password'] });
  const rows = await database.db.selectFrom('tokens').selectAll().execute();
  assert.ok(rows.some((r) => r.id_hash === hashTokenId(token)));
  assert.ok(rows.every((r) => !JSON.stringify(r).includes(token)));
});

test('an unscoped token carries no project and no roles', async () => {
  const { tokens } = service();
  const { token } = await tokens.issue({ userId: admin.userId, scope: null, methods: ['password'] });
  const v = await tokens.validate(token);
  assert.equal(v.projectId, null);
  assert.deepEqual(v.roles, []);
});

test('a token expires after [token] expiration seconds', async () => {
  const { tokens, advance } = service({ token: { expiration: '60' } });
  const { token, info } = await tokens.issue({
    userId: admin.userId,
    scope: { project: admin.projectId },
    methods: ['password'],
  });
  assert.equal(Date.parse(info.expiresAt) - Date.parse(info.issuedAt), 60_000);
  advance(59);
  await tokens.validate(token);
  advance(2);
  await assert.rejects(tokens.validate(token), isUnauthorized);
});

test('unknown tokens are refused', async () => {
  const { tokens } = service();
  await assert.rejects(tokens.validate('no-such-token'), isUnauthorized);
  await assert.rejects(tokens.validate(''), isUnauthorized);
});

test('revoke ends a token at once, and only once', async () => {
  const { tokens } = service();
  const { token } = await tokens.issue({
    userId: admin.userId,
    scope: { project: admin.projectId },
    methods: ['password'],
  });
  await tokens.validate(token);
  assert.equal(await tokens.revoke(token), true);
  await assert.rejects(tokens.validate(token), isUnauthorized);
  assert.equal(await tokens.revoke(token), false);
});

test('a cached validation does not read the database', async () => {
  const { tokens, advance } = service({ token: { cache_time: '5' } });
  const { token } = await tokens.issue({
    userId: admin.userId,
    scope: { project: admin.projectId },
    methods: ['password'],
  });
  // Revoke behind the service's back: only a database read could notice.
  await database.db.updateTable('tokens').set({ revoked: 1 }).where('id_hash', '=', hashTokenId(token)).execute();
  assert.equal((await tokens.validate(token)).userId, admin.userId);
  advance(4);
  await tokens.validate(token);
  advance(2);
  await assert.rejects(tokens.validate(token), isUnauthorized);
});

test('the cache never outlives the token', async () => {
  const { tokens, advance } = service({ token: { expiration: '60', cache_time: '3600' } });
  const { token } = await tokens.issue({ userId: admin.userId, scope: null, methods: ['password'] });
  await tokens.validate(token);
  advance(61);
  await assert.rejects(tokens.validate(token), isUnauthorized);
});

test('cache_time 0 turns the cache off', async () => {
  const { tokens } = service({ token: { cache_time: '0' } });
  const { token } = await tokens.issue({ userId: admin.userId, scope: null, methods: ['password'] });
  await tokens.validate(token);
  await database.db.updateTable('tokens').set({ revoked: 1 }).where('id_hash', '=', hashTokenId(token)).execute();
  await assert.rejects(tokens.validate(token), isUnauthorized);
});

test('revokeUser and revokeProject end every matching token, cached or not', async () => {
  const { tokens } = service();
  const scoped = await tokens.issue({
    userId: admin.userId,
    scope: { project: admin.projectId },
    methods: ['password'],
  });
  const unscoped = await tokens.issue({ userId: admin.userId, scope: null, methods: ['password'] });
  await tokens.validate(scoped.token);
  await tokens.revokeProject(admin.projectId);
  await assert.rejects(tokens.validate(scoped.token), isUnauthorized);
  await tokens.validate(unscoped.token);
  await tokens.revokeUser(admin.userId);
  await assert.rejects(tokens.validate(unscoped.token), isUnauthorized);
});

test('roles are read afresh once forget() drops the cached validation', async () => {
  const { tokens } = service();
  const member = await database.db
    .selectFrom('roles')
    .select('id')
    .where('name', '=', 'member')
    .executeTakeFirstOrThrow();
  const project = {
    id: 'p-forget',
    name: 'forget',
    domain_id: 'default',
    description: null,
    enabled: 1,
    parent_id: null,
    created_at: new Date().toISOString(),
  };
  await database.db.insertInto('projects').values(project).execute();
  await database.db
    .insertInto('role_assignments')
    .values({ type: 'UserProject', actor_id: admin.userId, target_id: project.id, role_id: member.id })
    .execute();
  const { token } = await tokens.issue({ userId: admin.userId, scope: { project: project.id }, methods: ['password'] });
  assert.deepEqual(
    (await tokens.validate(token)).roles.map((r) => r.name),
    ['member', 'reader'],
  );
  await database.db.deleteFrom('role_assignments').where('target_id', '=', project.id).execute();
  await tokens.validate(token);
  await tokens.forget({ userId: admin.userId, projectId: project.id });
  // No role left on the project: the token authorizes nothing.
  await assert.rejects(tokens.validate(token), isUnauthorized);
});

test('a rescoped token keeps its parent expiry and audit chain', async () => {
  const { tokens, advance } = service({ token: { expiration: '120' } });
  const parent = await tokens.issue({ userId: admin.userId, scope: null, methods: ['password'] });
  advance(30);
  const child = await tokens.issue({
    userId: admin.userId,
    scope: { project: admin.projectId },
    methods: ['token', ...parent.info.methods],
    parent: parent.info,
  });
  assert.equal(child.info.expiresAt, parent.info.expiresAt);
  assert.deepEqual(child.info.auditIds, [child.info.auditId, parent.info.auditId]);
  assert.deepEqual(child.info.methods, ['token', 'password']);
});

test('expired rows are purged, explicitly and when issuing after the purge interval', async () => {
  const clock = { now: Date.now() };
  const tokens = new TokenService(database, loadConfig([], { token: { expiration: '60' } }), {
    clock: () => clock.now,
    purgeIntervalMs: 120_000,
  });
  const first = await tokens.issue({ userId: admin.userId, scope: null, methods: ['password'] });
  clock.now += 61_000;
  const countOf = async (token: string) =>
    (await database.db.selectFrom('tokens').select('id_hash').where('id_hash', '=', hashTokenId(token)).execute())
      .length;
  const second = await tokens.issue({ userId: admin.userId, scope: null, methods: ['password'] });
  assert.equal(await countOf(first.token), 1, 'not purged before the interval');
  clock.now += 120_000;
  await tokens.issue({ userId: admin.userId, scope: null, methods: ['password'] });
  assert.equal(await countOf(first.token), 0);
  assert.equal(await countOf(second.token), 0);
  assert.equal(await tokens.purgeExpired(), 0);
});
