/**
 * POST /os-aggregates/{id}/images (2.81): one cache_images cast per compute host of the aggregate that is
 * up, with the image ids; Nova's 400s (body, duplicates, unknown image, non-integer id), 404s (unknown
 * aggregate, before 2.81) and 403 for members, each of which casts nothing.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { addComputeHost, client, fault, startComputeApi, stopHeartbeat, type Harness } from './helpers.ts';

let h: Harness;
let aggregateId: number;
before(async () => {
  h = await startComputeApi();
  for (const host of ['cache1', 'cache2', 'cache-down', 'elsewhere']) await addComputeHost(h, host);
  await stopHeartbeat(h, 'cache-down');
  const admin = client(h.app, 'admin');
  const created = await admin.post('/v2.1/os-aggregates', { aggregate: { name: 'warm' } });
  aggregateId = created.json().aggregate.id;
  for (const host of ['cache1', 'cache2', 'cache-down']) {
    const added = await admin.post(`/v2.1/os-aggregates/${aggregateId}/action`, { add_host: { host } });
    assert.equal(added.statusCode, 200, added.body);
  }
});
after(() => h.close());
beforeEach(() => {
  h.transport.casts.length = 0;
});

const images = (id: number | string) => `/v2.1/os-aggregates/${id}/images`;
const cacheCasts = () => h.transport.casts.filter((c) => c.method === 'cache_images');

describe('POST /os-aggregates/{id}/images', () => {
  it('asks each host of the aggregate that is up to cache the images, and answers 202', async () => {
    const second = h.images.add();
    const res = await client(h.app, 'admin', '2.81').post(images(aggregateId), {
      cache: [{ id: h.cirros.id }, { id: second.id }],
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.body, '');
    const casts = cacheCasts();
    assert.deepEqual(casts.map((c) => c.queue).sort(), ['compute.cache1', 'compute.cache2']);
    for (const cast of casts) assert.deepEqual(cast.args, { image_ids: [h.cirros.id, second.id] });
  });

  it("refuses Nova's bad requests and casts nothing", async () => {
    const admin = client(h.app, 'admin', '2.81');
    const unknown = '8f2c3b7a-1d4e-4f5a-9b6c-0d1e2f3a4b5c';
    const cases: [unknown, string | RegExp][] = [
      [{ cache: [] }, /Invalid input/],
      [{ cache: [{ id: 'not-a-uuid' }] }, /Invalid input/],
      [{ cache: [{ id: h.cirros.id, name: 'x' }] }, /Invalid input/],
      [{ images: [{ id: h.cirros.id }] }, /Invalid input/],
      [{ cache: [{ id: h.cirros.id }, { id: h.cirros.id }] }, 'Duplicate images in request'],
      [{ cache: [{ id: h.cirros.id }, { id: unknown }] }, `Image ${unknown} could not be found.`],
    ];
    for (const [body, message] of cases) {
      const res = await admin.post(images(aggregateId), body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      if (typeof message === 'string') assert.equal(fault(res).message, message);
      else assert.match(fault(res).message, message);
    }
    const badId = await admin.post(images('abc'), { cache: [{ id: h.cirros.id }] });
    assert.equal(badId.statusCode, 400);
    assert.equal(cacheCasts().length, 0);
  });

  it('is not found for an unknown aggregate, and before 2.81', async () => {
    const missing = await client(h.app, 'admin', '2.81').post(images(987654), { cache: [{ id: h.cirros.id }] });
    assert.equal(missing.statusCode, 404);
    assert.equal(fault(missing).message, 'Aggregate 987654 could not be found.');
    const early = await client(h.app, 'admin', '2.80').post(images(aggregateId), { cache: [{ id: h.cirros.id }] });
    assert.equal(early.statusCode, 404);
    assert.equal(cacheCasts().length, 0);
  });

  it('is for admins only', async () => {
    const res = await client(h.app, 'alice', '2.81').post(images(aggregateId), { cache: [{ id: h.cirros.id }] });
    assert.equal(res.statusCode, 403);
    assert.match(fault(res).message, /Policy doesn't allow compute:aggregates:images to be performed\./);
    assert.equal(cacheCasts().length, 0);
  });
});
