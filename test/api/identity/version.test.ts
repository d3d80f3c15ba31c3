import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startIdentity, type Harness } from './harness.ts';

let h: Harness;
before(async () => void (h = await startIdentity()));
after(() => h.close());

test('GET / lists v3 with 300 Multiple Choices and needs no token', async () => {
  const res = await call(h, 'GET', '/', { headers: { host: 'cloud.example:5000' } });
  assert.equal(res.status, 300);
  assert.equal(res.headers['location'], 'http://cloud.example:5000/v3/');
  const [v3] = res.body.versions!.values;
  assert.equal(v3!.id, 'v3.14');
  assert.equal(v3!.status, 'stable');
  assert.deepEqual(v3!.links, [{ rel: 'self', href: 'http://cloud.example:5000/v3/' }]);
});

test('GET /v3 and /v3/ describe the version with its media type', async () => {
  for (const url of ['/v3', '/v3/']) {
    const res = await call(h, 'GET', url, { headers: { host: 'localhost:5000' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.version!.id, 'v3.14');
    assert.deepEqual(res.body.version!['media-types'], [
      { base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' },
    ]);
    assert.equal(res.body.version!.links[0]!.href, 'http://localhost:5000/v3/');
  }
});

test('unknown paths are 404 in Keystone error format', async () => {
  const res = await call(h, 'GET', '/v3/nonsense', { token: h.admin.token });
  assert.equal(res.status, 404);
  assert.equal(res.body.error!.code, 404);
  assert.equal(res.body.error!.title, 'Not Found');
});
