/** Version discovery and the published schemas. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { client, startImageApi, type ImageApiHarness } from './helpers.ts';

let h: ImageApiHarness;
before(async () => {
  h = await startImageApi();
});
after(async () => {
  await h.close();
});

describe('discovery', () => {
  it('answers GET / with 300 and GET /versions with 200, without a token', async () => {
    const root = await h.app.inject({ method: 'GET', url: '/', headers: { host: 'images.example:9292' } });
    assert.equal(root.statusCode, 300);
    const versions = root.json().versions as { id: string; status: string; links: { rel: string; href: string }[] }[];
    assert.equal(versions.filter((v) => v.status === 'CURRENT').length, 1);
    assert.ok(versions.some((v) => v.id === 'v2.0' && v.status === 'SUPPORTED'));
    assert.deepEqual(versions[0]?.links, [{ rel: 'self', href: 'http://images.example:9292/v2/' }]);
    const explicit = await h.app.inject({ method: 'GET', url: '/versions' });
    assert.equal(explicit.statusCode, 200);
    assert.equal(explicit.json().versions.length, versions.length);
  });

  it('publishes the image and images schemas', async () => {
    const alice = client(h.app, 'alice');
    const image = (await alice.get('/v2/schemas/image')).json();
    assert.equal(image.name, 'image');
    assert.deepEqual(image.additionalProperties, { type: 'string' });
    assert.ok(image.properties.disk_format.enum.includes('qcow2'));
    assert.equal(image.properties.name.maxLength, 255);
    const images = (await alice.get('/v2/schemas/images')).json();
    assert.equal(images.name, 'images');
    assert.equal(images.properties.images.items.name, 'image');
  });

  it('answers unknown paths with a Glance error body', async () => {
    const res = await client(h.app, 'alice').get('/v2/nothing-here');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(Object.keys(res.json()).sort(), ['code', 'message', 'title']);
  });
});
