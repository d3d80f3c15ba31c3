import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseRedisUrl, RedisClient } from '../../../src/common/cache/redis-client.ts';
import { createApiServer } from '../../../src/api/http/create-server.ts';
import type { ApiKind } from '../../../src/api/http/error-body.ts';
import { LocalCounter, parseRateLimits, RateLimiter, RedisCounter } from '../../../src/api/http/rate-limit.ts';
import { fakeTokens, TOKENS } from '../../helpers/fake-tokens.ts';

const REDIS_URL = process.env['STRATUS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

test('the option is read as <scope>:<count>/<period> entries', () => {
  assert.deepEqual(parseRateLimits(''), []);
  assert.deepEqual(parseRateLimits(' user:600/minute , project : 10 / second'), [
    { scope: 'user', count: 600, periodMs: 60_000, period: 'minute' },
    { scope: 'project', count: 10, periodMs: 1000, period: 'second' },
  ]);
  for (const bad of ['user:0/minute', 'tenant:5/minute', 'user:5/week', 'user:5', 'user:-1/day']) {
    assert.throws(() => parseRateLimits(bad), /is not <user\|project>/, bad);
  }
});

test('a local window counts, then starts again when its period ends', async () => {
  const clock = { now: 1_000_000 };
  const limiter = new RateLimiter(parseRateLimits('user:2/minute'), new LocalCounter(() => clock.now));
  const alice = { userId: 'alice', projectId: 'p' };
  assert.equal(await limiter.check(alice), null);
  assert.equal(await limiter.check(alice), null);
  clock.now += 15_000;
  const refusal = await limiter.check(alice);
  assert.equal(refusal?.retryAfterSeconds, 45);
  assert.equal(await limiter.check({ userId: 'bob', projectId: 'p' }), null, 'other users count apart');
  clock.now += 45_000;
  assert.equal(await limiter.check(alice), null);
});

test('a project limit counts the requests of all its users', async () => {
  const limiter = new RateLimiter(parseRateLimits('project:2/hour'), new LocalCounter());
  assert.equal(await limiter.check({ userId: 'a', projectId: 'p' }), null);
  assert.equal(await limiter.check({ userId: 'b', projectId: 'p' }), null);
  assert.equal((await limiter.check({ userId: 'c', projectId: 'p' }))?.limit.scope, 'project');
  assert.equal(await limiter.check({ userId: 'c', projectId: null }), null, 'an unscoped token has no project');
});

const clients: RedisClient[] = [];
after(() => Promise.all(clients.map((c) => c.close())));
function redisCounter(): RedisCounter {
  const client = new RedisClient(parseRedisUrl(REDIS_URL));
  clients.push(client);
  return new RedisCounter(client);
}

test('limits counted in Redis hold across api processes', async () => {
  const user = `user-${randomBytes(6).toString('hex')}`;
  const limits = parseRateLimits('user:3/minute');
  // Two api processes, each with its own connection.
  const [one, two] = [new RateLimiter(limits, redisCounter()), new RateLimiter(limits, redisCounter())];
  const subject = { userId: user, projectId: null };
  try {
    assert.equal(await one.check(subject), null);
    assert.equal(await two.check(subject), null);
    assert.equal(await one.check(subject), null);
    const refusal = await two.check(subject);
    assert.ok(refusal && refusal.retryAfterSeconds >= 1 && refusal.retryAfterSeconds <= 60);
  } finally {
    await clients[0]!.command('DEL', `stratus:rate:user:${user}:60000`);
  }
});

async function refusedBy(kind: ApiKind) {
  const app = createApiServer({
    kind,
    tokens: fakeTokens,
    rateLimiter: new RateLimiter(parseRateLimits('user:1/hour'), new LocalCounter()),
  });
  app.get('/probe', async () => ({ ok: true }));
  await app.ready();
  try {
    const first = await app.inject({ method: 'GET', url: '/probe', headers: { 'x-auth-token': TOKENS.alice } });
    assert.equal(first.statusCode, 200);
    const second = await app.inject({ method: 'GET', url: '/probe', headers: { 'x-auth-token': TOKENS.alice } });
    assert.equal(second.statusCode, 429);
    assert.match(String(second.headers['retry-after']), /^\d+$/);
    return {
      body: JSON.parse(second.body) as Record<string, unknown>,
      retryAfter: String(second.headers['retry-after']),
    };
  } finally {
    await app.close();
  }
}

test('over the limit: 429 with Retry-After, in each API error format', async () => {
  const compute = await refusedBy('compute');
  assert.deepEqual(compute.body, {
    overLimit: {
      code: 429,
      message: 'This request was rate-limited.',
      details: 'Only 1 request(s) per user can be made every hour.',
      retryAfter: compute.retryAfter,
    },
  });
  assert.deepEqual((await refusedBy('identity')).body, {
    error: { code: 429, title: 'Too Many Requests', message: 'This request was rate-limited.' },
  });
  assert.deepEqual((await refusedBy('image')).body, {
    code: 429,
    title: 'Too Many Requests',
    message: 'This request was rate-limited.',
  });
  assert.deepEqual((await refusedBy('network')).body, {
    NeutronError: { type: 'HTTPTooManyRequests', message: 'This request was rate-limited.', detail: '' },
  });
});
