/** Version discovery, extensions and the error body of the network API. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNetworkApi, type NetworkApiHarness } from './helpers.ts';

describe('network API discovery', () => {
  let h: NetworkApiHarness;
  before(async () => {
    h = await startNetworkApi();
  });
  after(() => h.close());

  it('GET / lists v2.0 without a token', async () => {
    const { status, body } = await h.call(null, 'GET', '/');
    assert.equal(status, 200);
    assert.deepEqual(body, {
      versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: 'http://localhost:80/v2.0/', rel: 'self' }] }],
    });
  });

  it('GET /v2.0 lists the resources with self links', async () => {
    const { status, body } = await h.call(null, 'GET', '/v2.0');
    assert.equal(status, 200);
    const resources = body['resources'] as { name: string; collection: string; links: { href: string }[] }[];
    for (const r of resources) assert.equal(r.links[0]!.href, `http://localhost:80/v2.0/${r.collection}`);
  });

  it('GET /v2.0/extensions needs a token and lists each alias once with Neutron fields', async () => {
    assert.equal((await h.call(null, 'GET', '/v2.0/extensions')).status, 401);
    const { status, body } = await h.call('alice', 'GET', '/v2.0/extensions');
    assert.equal(status, 200);
    const list = body['extensions'] as Record<string, unknown>[];
    const aliases = list.map((e) => e['alias']);
    assert.equal(new Set(aliases).size, aliases.length);
    assert.ok(aliases.includes('pagination'));
    for (const e of list) assert.deepEqual(Object.keys(e).sort(), ['alias', 'description', 'links', 'name', 'updated']);
    const one = await h.call('alice', 'GET', '/v2.0/extensions/sorting');
    assert.equal((one.body['extension'] as { alias: string }).alias, 'sorting');
  });

  it('errors come in the NeutronError body', async () => {
    const { status, body } = await h.call('alice', 'GET', '/v2.0/extensions/no-such-thing');
    assert.equal(status, 404);
    assert.deepEqual(body, {
      NeutronError: {
        type: 'ExtensionNotFound',
        message: 'Extension with alias no-such-thing does not exist',
        detail: '',
      },
    });
    const unknown = await h.call('alice', 'GET', '/v2.0/nothing-here');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body['NeutronError'] as { type: string }).type, 'HTTPNotFound');
  });
});
