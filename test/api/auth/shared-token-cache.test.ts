import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { parseRedisUrl, RedisClient } from '../../../src/common/cache/redis-client.ts';
import { Unauthorized } from '../../../src/common/errors.ts';
import { SharedTokenCache } from '../../../src/api/auth/shared-token-cache.ts';
import { TokenService } from '../../../src/api/auth/token-service.ts';
import { hashTokenId } from '../../../src/api/auth/token-id.ts';
import { randomUUID } from 'node:crypto';
import { grantRole, revokeRole } from '../../../src/api/identity/store/assignments.ts';
import { insertRole } from '../../../src/api/identity/store/roles.ts';
import { bootstrapIdentity } from '../../../src/api/identity/bootstrap.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';

const REDIS_URL = process.env['STRATUS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

let database: TestDatabase;
let admin: { userId: string; projectId: string };
const services: TokenService[] = [];
const redis = new RedisClient(parseRedisUrl(REDIS_URL));
const hashes: string[] = [];

before(async () => {
  database = await openTestDatabase();
  admin = await bootstrapIdentity(database, loadConfig(), { password: 'pw' });
});
after(async () => {
  await Promise.all(services.map((s) => s.stop()));
  if (hashes.length) await redis.command('DEL', ...hashes.map((h) => `stratus:token:${h}`));
  await redis.close();
  await database.close();
});

/** An api process's token service with its own connection to the shared Redis. */
async function apiProcess(): Promise<TokenService> {
  const tokens = new TokenService(database, loadConfig(), {
    shared: new SharedTokenCache(new RedisClient(parseRedisUrl(REDIS_URL))),
  });
  services.push(tokens);
  await tokens.start();
  return tokens;
}

async function issued(tokens: TokenService): Promise<string> {
  const { token } = await tokens.issue({
    userId: admin.userId,
    scope: { project: admin.projectId },
    methods: ['password'],
  });
  hashes.push(hashTokenId(token));
  return token;
}

/** Waits for the fire-and-forget write of the issuing process to land. */
async function stored(token: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await redis.command('EXISTS', `stratus:token:${hashTokenId(token)}`)) === 1) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail('the validation never reached Redis');
}

test('a validation made by one process serves another without the database', async () => {
  const [a, b] = [await apiProcess(), await apiProcess()];
  const token = await issued(a);
  await stored(token);
  // Gone from the database without a revocation: only the shared cache can still answer.
  await database.db.deleteFrom('tokens').where('id_hash', '=', hashTokenId(token)).execute();
  assert.equal((await b.validate(token)).userId, admin.userId);
});

test('an entry read before a change is not served after it', async () => {
  const [a, b] = [await apiProcess(), await apiProcess()];
  const role = await insertRole(database.db, {
    id: randomUUID().replaceAll('-', ''),
    name: 'extra',
    description: null,
  });
  const target = { kind: 'project' as const, id: admin.projectId };
  await grantRole(database.db, admin.userId, target, role.id);
  const token = await issued(a);
  await stored(token);
  // The role goes, as DELETE of the grant does it: the entry in Redis still lists it.
  await revokeRole(database.db, admin.userId, target, role.id);
  await a.forget({ userId: admin.userId, projectId: admin.projectId });
  await b.pollRevocations();
  const roles = (await b.validate(token)).roles.map((r) => r.name);
  assert.ok(roles.includes('admin'));
  assert.ok(!roles.includes('extra'), 'served the validation read before the role was removed');
});

test('an entry of another shape is a miss, not an error', async () => {
  const a = await apiProcess();
  const token = await issued(a);
  const hash = hashTokenId(token);
  await stored(token);
  await redis.command('SET', `stratus:token:${hash}`, JSON.stringify({ loadedAt: 'x', info: {} }), 'PX', 10_000);
  await database.db.deleteFrom('tokens').where('id_hash', '=', hash).execute();
  const b = await apiProcess();
  await assert.rejects(b.validate(token), (err) => err instanceof Unauthorized);
});
