/**
 * Neutron's tag API and tag filters on every tagged resource, with its validation and policy; POST adding
 * several tags (tag-creation); `tags` on a port's create, and read-only in the other resources' bodies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNetworkApi, type NetworkApiHarness } from './helpers.ts';

type Obj = Record<string, unknown> & { id: string };

describe('network API: tags', () => {
  let h: NetworkApiHarness;
  let net: Obj;
  const made: Record<string, Obj> = {};
  before(async () => {
    h = await startNetworkApi();
    const post = async (collection: string, member: string, body: Record<string, unknown>) => {
      const r = await h.call('alice', 'POST', `/v2.0/${collection}`, { [member]: body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body[member] as Obj;
    };
    net = await post('networks', 'network', { name: 'tagged' });
    made['networks'] = net;
    made['subnets'] = await post('subnets', 'subnet', { network_id: net.id, cidr: '10.9.0.0/24', ip_version: 4 });
    made['ports'] = await post('ports', 'port', { network_id: net.id });
    made['routers'] = await post('routers', 'router', { name: 'r' });
    made['security-groups'] = await post('security-groups', 'security_group', { name: 'g' });
    const external = await h.call('admin', 'POST', '/v2.0/networks', {
      network: { name: 'public', 'router:external': true },
    });
    const externalId = (external.body['network'] as Obj).id;
    await h.call('admin', 'POST', '/v2.0/subnets', {
      subnet: { network_id: externalId, cidr: '203.0.113.0/24', ip_version: 4 },
    });
    made['floatingips'] = await post('floatingips', 'floatingip', { floating_network_id: externalId });
  });
  after(() => h.close());

  const errorOf = (body: Record<string, unknown>) => body['NeutronError'] as { type: string; message: string };
  const member: Record<string, string> = {
    networks: 'network',
    subnets: 'subnet',
    ports: 'port',
    routers: 'router',
    'security-groups': 'security_group',
    floatingips: 'floatingip',
  };

  it('every tagged resource shows tags, takes them by replace, add and remove, and bumps its revision', async () => {
    for (const [collection, resource] of Object.entries(made)) {
      const base = `/v2.0/${collection}/${resource.id}`;
      assert.deepEqual(resource['tags'], [], collection);
      const revision = ((await h.call('alice', 'GET', base)).body[member[collection]!] as Obj)['revision_number'];
      const replaced = await h.call('alice', 'PUT', `${base}/tags`, { tags: ['b', 'a'] });
      assert.equal(replaced.status, 200, collection);
      assert.deepEqual(replaced.body, { tags: ['a', 'b'] });
      const added = await h.call('alice', 'PUT', `${base}/tags/c`);
      assert.equal(added.status, 201);
      assert.equal((await h.call('alice', 'PUT', `${base}/tags/c`)).status, 201, 'adding twice is no error');
      assert.equal((await h.call('alice', 'GET', `${base}/tags/c`)).status, 204);
      assert.deepEqual((await h.call('alice', 'GET', `${base}/tags`)).body, { tags: ['a', 'b', 'c'] });
      assert.equal((await h.call('alice', 'DELETE', `${base}/tags/a`)).status, 204);
      const shown = (await h.call('alice', 'GET', base)).body[member[collection]!] as Obj;
      assert.deepEqual(shown['tags'], ['b', 'c']);
      assert.equal(shown['revision_number'], (revision as number) + 3, collection);
      const missing = await h.call('alice', 'DELETE', `${base}/tags/a`);
      assert.equal(missing.status, 404);
      assert.equal(errorOf(missing.body).type, 'TagNotFound');
      assert.equal((await h.call('alice', 'GET', `${base}/tags/a`)).status, 404);
      assert.equal((await h.call('alice', 'DELETE', `${base}/tags`)).status, 204);
      assert.deepEqual((await h.call('alice', 'GET', `${base}/tags`)).body, { tags: [] });
    }
  });

  it('POST to tags adds the missing ones, keeps the rest, and answers the tags it was given', async () => {
    for (const [collection, resource] of Object.entries(made)) {
      const base = `/v2.0/${collection}/${resource.id}`;
      await h.call('alice', 'PUT', `${base}/tags`, { tags: ['old', 'both'] });
      const revision = ((await h.call('alice', 'GET', base)).body[member[collection]!] as Obj)['revision_number'];
      const created = await h.call('alice', 'POST', `${base}/tags`, { tags: ['new', 'both'] });
      assert.equal(created.status, 201, `${collection}: ${JSON.stringify(created.body)}`);
      assert.deepEqual(created.body, { tags: ['new', 'both'] });
      const shown = (await h.call('alice', 'GET', base)).body[member[collection]!] as Obj;
      assert.deepEqual(shown['tags'], ['both', 'new', 'old'], collection);
      assert.equal(shown['revision_number'], (revision as number) + 1, collection);
      const again = await h.call('alice', 'POST', `${base}/tags`, { tags: ['new'] });
      assert.equal(again.status, 201, 'adding what is there is no error');
      const unchanged = (await h.call('alice', 'GET', base)).body[member[collection]!] as Obj;
      assert.equal(
        unchanged['revision_number'],
        shown['revision_number'],
        `${collection}: nothing added, same revision`,
      );
      assert.equal((await h.call('alice', 'DELETE', `${base}/tags`)).status, 204);
    }
    const base = `/v2.0/networks/${net.id}/tags`;
    for (const body of [{}, { tags: 'x' }, { tags: ['a', 'a'] }, { tags: [1] }, { tags: ['x'.repeat(256)] }]) {
      const r = await h.call('alice', 'POST', base, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(errorOf(r.body).type, 'InvalidInput');
    }
    assert.deepEqual((await h.call('alice', 'GET', base)).body, { tags: [] }, 'a refused POST added nothing');
    assert.equal((await h.call('bob', 'POST', base, { tags: ['x'] })).status, 404);
  });

  it('a port takes tags on create, checked as the tag API checks them; other resources refuse them', async () => {
    const created = await h.call('alice', 'POST', '/v2.0/ports', {
      port: { network_id: net.id, name: 'tagged-port', tags: ['web', 'blue'] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const port = created.body['port'] as Obj;
    assert.deepEqual(port['tags'], ['blue', 'web']);
    assert.equal(port['revision_number'], 1);
    assert.deepEqual((await h.call('alice', 'GET', `/v2.0/ports/${port.id}/tags`)).body, { tags: ['blue', 'web'] });
    const listed = await h.call('alice', 'GET', '/v2.0/ports?tags=web');
    assert.deepEqual(
      (listed.body['ports'] as Obj[]).map((p) => p.id),
      [port.id],
    );

    const portsBefore = ((await h.call('alice', 'GET', '/v2.0/ports')).body['ports'] as Obj[]).length;
    const bad: [unknown, string][] = [
      ['x', 'Invalid input for tags. Reason: \'"x"\' is not a list.'],
      [['a', 'a'], "Invalid input for tags. Reason: Duplicate items in the list: 'a'."],
      [[1], "Invalid input for tags. Reason: '1' is not a valid string."],
      [['x'.repeat(256)], `Invalid input for tags. Reason: '${'x'.repeat(256)}' exceeds maximum length of 255.`],
    ];
    for (const [tags, message] of bad) {
      const r = await h.call('alice', 'POST', '/v2.0/ports', { port: { network_id: net.id, tags } });
      assert.equal(r.status, 400, JSON.stringify(tags));
      assert.equal(errorOf(r.body).message, message);
    }
    assert.equal(
      ((await h.call('alice', 'GET', '/v2.0/ports')).body['ports'] as Obj[]).length,
      portsBefore,
      'a refused create made no port',
    );
    const put = await h.call('alice', 'PUT', `/v2.0/ports/${port.id}`, { port: { tags: ['x'] } });
    assert.equal(put.status, 400);
    assert.equal(errorOf(put.body).message, 'Cannot update read-only attribute tags');

    for (const [collection, body] of [
      ['networks', { network: { name: 'n', tags: ['x'] } }],
      ['subnets', { subnet: { network_id: net.id, cidr: '10.9.9.0/24', ip_version: 4, tags: ['x'] } }],
      ['routers', { router: { name: 'r', tags: ['x'] } }],
      ['security-groups', { security_group: { name: 'g', tags: ['x'] } }],
      ['floatingips', { floatingip: { floating_network_id: net.id, tags: ['x'] } }],
    ] as const) {
      const r = await h.call('alice', 'POST', `/v2.0/${collection}`, body);
      assert.equal(r.status, 400, collection);
      assert.equal(errorOf(r.body).message, "Attribute 'tags' not allowed in POST", collection);
    }
    const renamed = await h.call('alice', 'PUT', `/v2.0/networks/${net.id}`, { network: { tags: ['x'] } });
    assert.equal(renamed.status, 400);
    assert.equal(errorOf(renamed.body).message, 'Cannot update read-only attribute tags');
  });

  it('filters lists by tags, tags-any, not-tags and not-tags-any', async () => {
    const other = (await h.call('alice', 'POST', '/v2.0/networks', { network: { name: 'other' } })).body[
      'network'
    ] as Obj;
    await h.call('alice', 'PUT', `/v2.0/networks/${net.id}/tags`, { tags: ['red', 'blue'] });
    await h.call('alice', 'PUT', `/v2.0/networks/${other.id}/tags`, { tags: ['red'] });
    const names = async (query: string) => {
      const r = await h.call('alice', 'GET', `/v2.0/networks?${query}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body['networks'] as Obj[]).map((n) => n['name']).sort();
    };
    assert.deepEqual(await names('tags=red,blue'), ['tagged']);
    assert.deepEqual(await names('tags=red'), ['other', 'tagged']);
    assert.deepEqual(await names('tags-any=blue,green'), ['tagged']);
    // The external network (visible, untagged) has neither.
    assert.deepEqual(await names('not-tags=red,blue'), ['other', 'public']);
    assert.deepEqual(await names('not-tags-any=blue'), ['other', 'public']);
    assert.deepEqual(await names('tags=red&not-tags-any=blue'), ['other']);
    // Tags match exactly on every engine: 'Red' is another tag.
    assert.equal((await h.call('alice', 'PUT', `/v2.0/networks/${other.id}/tags/Red`)).status, 201);
    assert.deepEqual(await names('tags=Red'), ['other']);
    await h.call('alice', 'PUT', `/v2.0/ports/${made['ports']!.id}/tags/p1`);
    const ports = (await h.call('alice', 'GET', '/v2.0/ports?tags=p1')).body['ports'] as Obj[];
    assert.deepEqual(
      ports.map((p) => p.id),
      [made['ports']!.id],
    );
  });

  it('refuses bad bodies and tags and changes nothing', async () => {
    const base = `/v2.0/networks/${net.id}/tags`;
    await h.call('alice', 'PUT', base, { tags: ['keep'] });
    for (const body of [{}, { tags: 'x' }, { tags: ['a', 'a'] }, { tags: [1] }, { tags: ['x'.repeat(256)] }]) {
      const r = await h.call('alice', 'PUT', base, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(errorOf(r.body).type, 'InvalidInput');
    }
    assert.equal((await h.call('alice', 'PUT', `${base}/${'y'.repeat(256)}`)).status, 400);
    assert.deepEqual((await h.call('alice', 'GET', base)).body, { tags: ['keep'] });
  });

  it("hides others' resources and lets only the owner or an admin change tags", async () => {
    const base = `/v2.0/networks/${net.id}/tags`;
    assert.equal((await h.call('bob', 'GET', base)).status, 404);
    assert.equal((await h.call('bob', 'PUT', `${base}/x`)).status, 404);
    const shared = (await h.call('admin', 'POST', '/v2.0/networks', { network: { name: 's', shared: true } })).body[
      'network'
    ] as Obj;
    assert.equal((await h.call('bob', 'GET', `/v2.0/networks/${shared.id}/tags`)).status, 200);
    const refused = await h.call('bob', 'PUT', `/v2.0/networks/${shared.id}/tags/x`);
    assert.equal(refused.status, 403);
    assert.equal(errorOf(refused.body).type, 'PolicyNotAuthorized');
    assert.equal((await h.call('admin', 'PUT', `${base}/by-admin`)).status, 201);
    assert.equal(
      (await h.call('alice', 'GET', `/v2.0/networks/${'0'.repeat(8)}-0000-0000-0000-000000000000/tags`)).status,
      404,
    );
  });

  it('a deleted resource takes its tags along; the extensions are advertised', async () => {
    const gone = (await h.call('alice', 'POST', '/v2.0/networks', { network: { name: 'gone' } })).body[
      'network'
    ] as Obj;
    await h.call('alice', 'PUT', `/v2.0/networks/${gone.id}/tags`, { tags: ['t'] });
    assert.equal((await h.call('alice', 'DELETE', `/v2.0/networks/${gone.id}`)).status, 204);
    const left = await h.database.db
      .selectFrom('network_tags')
      .selectAll()
      .where('resource_id', '=', gone.id)
      .execute();
    assert.deepEqual(left, []);
    const aliases = ((await h.call('alice', 'GET', '/v2.0/extensions')).body['extensions'] as Obj[]).map(
      (e) => e['alias'],
    );
    assert.ok(aliases.includes('standard-attr-tag') && aliases.includes('tag-ext') && aliases.includes('tag-creation'));
  });
});
