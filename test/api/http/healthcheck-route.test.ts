/**
 * oslo.middleware's healthcheck on the APIs' own ports: what a load balancer configured for OpenStack
 * probes, answered without a token and outside the rate limits, 503 with the reason when what the
 * service needs is down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { createApiServer, type ApiServer } from '../../../src/api/http/create-server.ts';
import { registerHealthcheck } from '../../../src/api/http/healthcheck-route.ts';
import { LocalCounter, parseRateLimits, RateLimiter } from '../../../src/api/http/rate-limit.ts';
import type { HealthCheck } from '../../../src/common/metrics/health.ts';
import { fakeTokens, TOKENS } from '../../helpers/fake-tokens.ts';
import { API_NAMES, startFourApis, type FourApis } from '../../helpers/four-apis.ts';

/** A check whose outcome the test sets. */
function switchable(name: string): HealthCheck & { problem: string | null } {
  const check = {
    name,
    details: `${name} of the test`,
    problem: null as string | null,
    check: async () => check.problem,
  };
  return check;
}

describe('the healthcheck route', () => {
  const database = switchable('database');
  let app: ApiServer;
  before(async () => {
    // A limit every authenticated request is already over: only a route outside it answers.
    const rateLimiter = new RateLimiter(parseRateLimits('user:1/hour'), new LocalCounter());
    await rateLimiter.check({ userId: 'alice', projectId: null });
    app = createApiServer({ kind: 'compute', tokens: fakeTokens, rateLimiter });
    registerHealthcheck(app, { checks: [database], path: '/healthcheck', detailed: false });
    app.get('/v2.1/limited', async () => ({ ok: true }));
    await app.ready();
  });
  after(() => app.close());

  it('answers GET with OK and HEAD with 204, without a token and outside the rate limit', async () => {
    database.problem = null;
    const get = await app.inject({ method: 'GET', url: '/healthcheck' });
    assert.equal(get.statusCode, 200);
    assert.equal(get.body, 'OK');
    assert.match(String(get.headers['content-type']), /^text\/plain/);
    const head = await app.inject({ method: 'HEAD', url: '/healthcheck' });
    assert.equal(head.statusCode, 204);
    assert.equal(head.body, '');
    const token = { 'x-auth-token': TOKENS.alice };
    assert.equal((await app.inject({ method: 'GET', url: '/v2.1/limited', headers: token })).statusCode, 429);
    assert.equal((await app.inject({ method: 'GET', url: '/healthcheck', headers: token })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/v2.1/limited' })).statusCode, 401);
  });

  it('answers JSON or HTML by Accept, plain text first on a tie', async () => {
    database.problem = null;
    const json = await app.inject({ method: 'GET', url: '/healthcheck', headers: { accept: 'application/json' } });
    assert.deepEqual(JSON.parse(json.body), { detailed: false, reasons: ['OK'] });
    const html = await app.inject({ method: 'GET', url: '/healthcheck', headers: { accept: 'text/html' } });
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.match(html.body, /<BODY>\nOK\n<\/BODY>/);
    const any = await app.inject({ method: 'GET', url: '/healthcheck', headers: { accept: '*/*' } });
    assert.equal(any.body, 'OK');
    const ranked = await app.inject({
      method: 'GET',
      url: '/healthcheck',
      headers: { accept: 'text/plain;q=0.5, application/json' },
    });
    assert.match(String(ranked.headers['content-type']), /^application\/json/);
  });

  it('answers 503 naming what is down, without the error text a tenant has no business with', async () => {
    database.problem = 'database: connect ECONNREFUSED 10.0.0.5:3306';
    const get = await app.inject({ method: 'GET', url: '/healthcheck' });
    assert.equal(get.statusCode, 503);
    assert.equal(get.body, 'database: unavailable');
    const head = await app.inject({ method: 'HEAD', url: '/healthcheck' });
    assert.equal(head.statusCode, 503);
    const html = await app.inject({ method: 'GET', url: '/healthcheck', headers: { accept: 'text/html' } });
    assert.doesNotMatch(html.body, /10\.0\.0\.5/);
  });
});

describe('the healthcheck on each of the four APIs', () => {
  let h: FourApis;
  before(async () => {
    h = await startFourApis();
  });
  after(() => h.close());

  it('answers OK on every API, and 503 on every API while the bus is gone', async () => {
    for (const api of API_NAMES) {
      const res = await h.request(api, null, { method: 'GET', url: '/healthcheck' });
      assert.deepEqual([res.statusCode, res.body], [200, 'OK'], api);
      assert.equal((await h.request(api, null, { method: 'HEAD', url: '/healthcheck' })).statusCode, 204, api);
    }
    h.transport.refuse = new Error('broker gone');
    try {
      for (const api of API_NAMES) {
        const res = await h.request(api, null, { method: 'GET', url: '/healthcheck' });
        assert.deepEqual([res.statusCode, res.body], [503, 'message bus: unavailable'], api);
      }
    } finally {
      h.transport.refuse = null;
    }
  });

  it('takes GET and HEAD only: a POST is answered as on a path the API does not have', async () => {
    for (const api of API_NAMES) {
      const res = await h.request(api, null, { method: 'POST', url: '/healthcheck' });
      const unknown = await h.request(api, null, { method: 'POST', url: '/no-such-path' });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${api} ${res.statusCode}`);
      assert.equal(res.statusCode, unknown.statusCode, api);
    }
  });
});

test('refuses a path that is a route of the API, saying which option to change', async () => {
  const app = createApiServer({ kind: 'compute', tokens: fakeTokens });
  app.get('/v2.1/servers', async () => ({}));
  assert.throws(
    () => registerHealthcheck(app, { checks: [], path: '/v2.1/servers', detailed: false }),
    /\[healthcheck\] path \/v2\.1\/servers is a route of this API/,
  );
  await app.close();
});
