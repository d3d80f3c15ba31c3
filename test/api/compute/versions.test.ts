/** Version discovery, microversion negotiation and the two URL forms (with and without project id). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { client, fault, PROJECT_A, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi();
});
after(async () => {
  await h.close();
});

describe('version documents', () => {
  it('GET / lists v2.0 (SUPPORTED) and v2.1 (CURRENT, with its microversion range), without a token', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      versions: [
        {
          id: 'v2.0',
          status: 'SUPPORTED',
          version: '',
          min_version: '',
          updated: '2011-01-21T11:33:21Z',
          links: [{ rel: 'self', href: 'http://localhost:80/v2/' }],
        },
        {
          id: 'v2.1',
          status: 'CURRENT',
          version: '2.96',
          min_version: '2.1',
          updated: '2013-07-23T11:33:21Z',
          links: [{ rel: 'self', href: 'http://localhost:80/v2.1/' }],
        },
      ],
    });
    assert.equal(res.headers['openstack-api-version'], undefined, 'the root is not versioned');
  });

  for (const url of ['/v2', '/v2/']) {
    it(`GET ${url} describes v2.0, unversioned, without a token`, async () => {
      const res = await h.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), {
        version: {
          id: 'v2.0',
          status: 'SUPPORTED',
          version: '',
          min_version: '',
          updated: '2011-01-21T11:33:21Z',
          links: [
            { rel: 'self', href: 'http://localhost:80/v2/' },
            { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
          ],
          'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2' }],
        },
      });
      assert.equal(res.headers['openstack-api-version'], undefined, 'v2.0 has no microversions');
    });
  }

  it('the legacy v2.0 API itself is not served', async () => {
    const res = await client(h.app, 'alice').get('/v2/servers');
    assert.equal(res.statusCode, 404);
  });

  for (const url of ['/v2.1', '/v2.1/']) {
    it(`GET ${url} describes v2.1 and names the negotiated version`, async () => {
      const res = await h.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200);
      const { version } = res.json();
      assert.equal(version.id, 'v2.1');
      assert.equal(version.version, '2.96');
      assert.equal(version.links[0].href, 'http://localhost:80/v2.1/');
      assert.equal(version['media-types'][0].type, 'application/vnd.openstack.compute+json;version=2.1');
      assert.equal(res.headers['openstack-api-version'], 'compute 2.1');
      assert.equal(res.headers['x-openstack-nova-api-version'], '2.1');
      assert.match(String(res.headers['vary']), /OpenStack-API-Version/);
      assert.match(String(res.headers['vary']), /X-OpenStack-Nova-API-Version/);
    });
  }
});

describe('microversion negotiation', () => {
  it('defaults to 2.1', async () => {
    const res = await client(h.app, 'alice').get('/v2.1/flavors');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['openstack-api-version'], 'compute 2.1');
  });

  it('"latest" is the newest version', async () => {
    const res = await client(h.app, 'alice', 'latest').get('/v2.1/flavors');
    assert.equal(res.headers['openstack-api-version'], 'compute 2.96');
    assert.equal(res.headers['x-openstack-nova-api-version'], '2.96');
  });

  it('honours the legacy header', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: '/v2.1/flavors',
      headers: { 'x-auth-token': 'alice-token', 'x-openstack-nova-api-version': '2.55' },
    });
    assert.equal(res.headers['openstack-api-version'], 'compute 2.55');
    assert.ok('description' in res.json().flavors[0], '2.55 adds the description');
  });

  it('takes the compute entry of a multi-service header', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: '/v2.1/flavors',
      headers: { 'x-auth-token': 'alice-token', 'openstack-api-version': 'placement 1.30, compute 2.60' },
    });
    assert.equal(res.headers['openstack-api-version'], 'compute 2.60');
  });

  for (const version of ['2.97', '3.0', '2.0']) {
    it(`refuses ${version} with 406 and Nova's message`, async () => {
      const res = await client(h.app, 'alice', version).get('/v2.1/flavors');
      assert.equal(res.statusCode, 406);
      assert.equal(
        fault(res).message,
        `Version ${version} is not supported by the API. Minimum is 2.1 and maximum is 2.96.`,
      );
    });
  }

  it('refuses a malformed version with 400', async () => {
    const res = await client(h.app, 'alice', '2.x').get('/v2.1/flavors');
    assert.equal(res.statusCode, 400);
    assert.equal(
      fault(res).message,
      'API Version String 2.x is of invalid format. Must be of format MajorNum.MinorNum.',
    );
  });

  it('authenticates before negotiating', async () => {
    const res = await client(h.app, 'nobody', '9.9').get('/v2.1/flavors');
    assert.equal(res.statusCode, 401);
  });

  it('a method that does not exist at the requested version is a 404', async () => {
    const res = await client(h.app, 'admin', '2.54').put('/v2.1/flavors/1', { flavor: { description: 'x' } });
    assert.equal(res.statusCode, 404);
    const ok = await client(h.app, 'admin', '2.55').put('/v2.1/flavors/1', { flavor: { description: 'x' } });
    assert.equal(ok.statusCode, 200);
  });
});

describe('URLs with the project id', () => {
  it('serves /v2.1/{project_id}/... and keeps the project id in links', async () => {
    const res = await client(h.app, 'alice').get(`/v2.1/${PROJECT_A}/flavors`);
    assert.equal(res.statusCode, 200);
    const links = res.json().flavors[0].links;
    assert.equal(links[0].href, `http://localhost:80/v2.1/${PROJECT_A}/flavors/1`);
    assert.equal(links[1].href, `http://localhost:80/${PROJECT_A}/flavors/1`);
  });

  it("refuses another project's id in the URL", async () => {
    const res = await client(h.app, 'bob').get(`/v2.1/${PROJECT_A}/flavors`);
    assert.equal(res.statusCode, 400);
    assert.match(
      fault(res).message,
      /^Malformed request URL: URL's project_id 'a+' doesn't match Context's project_id 'b+'$/,
    );
  });

  it('answers a missing token with 401 in Nova form', async () => {
    const res = await client(h.app, 'nobody').get('/v2.1/servers');
    assert.equal(res.statusCode, 401);
    assert.equal(fault(res).name, 'unauthorized');
  });

  it('answers an unknown path under /v2.1 or /v2 with 404', async () => {
    for (const url of ['/v2.1/no-such-thing/at/all', '/v2/no-such-thing']) {
      const res = await client(h.app, 'alice').get(url);
      assert.equal(res.statusCode, 404, url);
    }
  });

  it('answers any other path with 300 and the path under each major version, without a token', async () => {
    const res = await client(h.app, 'nobody').get('/no-such/thing?x=1');
    assert.equal(res.statusCode, 300, res.body);
    assert.deepEqual(res.json(), {
      choices: [
        {
          id: 'v2.0',
          status: 'SUPPORTED',
          links: [{ rel: 'self', href: 'http://localhost:80/v2/no-such/thing' }],
          'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2' }],
        },
        {
          id: 'v2.1',
          status: 'CURRENT',
          links: [{ rel: 'self', href: 'http://localhost:80/v2.1/no-such/thing' }],
          'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
        },
      ],
    });
  });
});
