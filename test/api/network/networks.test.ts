/** /v2.0/networks: bodies, policy on admin-only attributes, visibility, filters, paging and deletion. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROJECT_A, startNetworkApi, type NetworkApiHarness } from './helpers.ts';

type Net = Record<string, unknown> & { id: string };

describe('network API: networks', () => {
  let h: NetworkApiHarness;
  before(async () => {
    h = await startNetworkApi();
  });
  after(() => h.close());

  const create = async (who: 'alice' | 'bob' | 'admin', network: Record<string, unknown>) => {
    const r = await h.call(who, 'POST', '/v2.0/networks', { network });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body['network'] as Net;
  };
  const errorOf = (body: Record<string, unknown>) => body['NeutronError'] as { type: string; message: string };

  it("creates with Neutron's attributes; a member does not see provider ones", async () => {
    const net = await create('alice', { name: 'n1', description: 'd' });
    assert.deepEqual(Object.keys(net).sort(), [
      'admin_state_up',
      'created_at',
      'description',
      'id',
      'mtu',
      'name',
      'port_security_enabled',
      'project_id',
      'revision_number',
      'router:external',
      'shared',
      'status',
      'subnets',
      'tags',
      'tenant_id',
      'updated_at',
    ]);
    assert.equal(net['project_id'], PROJECT_A);
    assert.equal(net['status'], 'ACTIVE');
    assert.match(net['created_at'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const asAdmin = await h.call('admin', 'GET', `/v2.0/networks/${net.id}`);
    const shown = asAdmin.body['network'] as Net;
    assert.equal(shown['provider:network_type'], 'local');
    assert.equal(shown['provider:physical_network'], null);
  });

  it('refuses admin-only attributes to a member, unknown attributes and bad values', async () => {
    for (const attr of ['shared', 'router:external']) {
      const r = await h.call('alice', 'POST', '/v2.0/networks', { network: { [attr]: true } });
      assert.equal(r.status, 403);
      assert.deepEqual(errorOf(r.body), {
        type: 'PolicyNotAuthorized',
        message: `(rule:create_network:${attr}) is disallowed by policy`,
        detail: '',
      } as never);
    }
    const unknown = await h.call('alice', 'POST', '/v2.0/networks', { network: { colour: 'red' } });
    assert.equal(unknown.status, 400);
    assert.equal(errorOf(unknown.body).message, "Unrecognized attribute(s) 'colour'");
    // Names of Object.prototype's members are attributes like any other: unknown.
    const builtin = await h.call('alice', 'POST', '/v2.0/networks', JSON.parse('{"network": {"constructor": 1}}'));
    assert.equal(builtin.status, 400);
    assert.equal(errorOf(builtin.body).message, "Unrecognized attribute(s) 'constructor'");
    const bad = await h.call('alice', 'POST', '/v2.0/networks', { network: { admin_state_up: 'maybe' } });
    assert.equal(bad.status, 400);
    assert.equal(
      errorOf(bad.body).message,
      "Invalid input for admin_state_up. Reason: 'maybe' cannot be converted to boolean.",
    );
    const noBody = await h.call('alice', 'POST', '/v2.0/networks', { net: {} });
    assert.equal(errorOf(noBody.body).message, "Unable to find 'network' in request body");
    const other = await h.call('alice', 'POST', '/v2.0/networks', { network: { project_id: 'someone-else' } });
    assert.equal(other.status, 400);
    const big = await h.call('alice', 'POST', '/v2.0/networks', { network: { mtu: 9000 } });
    assert.equal(errorOf(big.body).message, 'Invalid input for operation: Requested MTU is too big, maximum is 1500.');
  });

  it('provider segments: checked, and one network per VLAN or flat interface', async () => {
    const vlan = await create('admin', {
      name: 'v',
      'provider:network_type': 'vlan',
      'provider:physical_network': 'physnet1',
      'provider:segmentation_id': 42,
    });
    assert.equal(vlan['provider:segmentation_id'], 42);
    const again = await h.call('admin', 'POST', '/v2.0/networks', {
      network: {
        'provider:network_type': 'vlan',
        'provider:physical_network': 'physnet1',
        'provider:segmentation_id': 42,
      },
    });
    assert.equal(again.status, 409);
    assert.equal(errorOf(again.body).type, 'VlanIdInUse');
    await create('admin', { 'provider:network_type': 'flat', 'provider:physical_network': 'physnet2' });
    const flat = await h.call('admin', 'POST', '/v2.0/networks', {
      network: { 'provider:network_type': 'flat', 'provider:physical_network': 'physnet2' },
    });
    assert.equal(errorOf(flat.body).type, 'FlatNetworkInUse');
    const cases: [Record<string, unknown>, string][] = [
      [{ 'provider:network_type': 'gre' }, "network_type value 'gre' not supported"],
      [
        { 'provider:network_type': 'vlan', 'provider:physical_network': 'p' },
        'segmentation_id required for VLAN provider network',
      ],
      [
        { 'provider:network_type': 'vlan', 'provider:physical_network': 'p', 'provider:segmentation_id': 4095 },
        'segmentation_id out of range (1 through 4094)',
      ],
      [{ 'provider:network_type': 'flat' }, 'physical_network required for flat provider network'],
    ];
    for (const [network, message] of cases) {
      const r = await h.call('admin', 'POST', '/v2.0/networks', { network });
      assert.equal(r.status, 400);
      assert.equal(errorOf(r.body).message, `Invalid input for operation: ${message}.`);
    }
    const member = await h.call('alice', 'POST', '/v2.0/networks', { network: { 'provider:network_type': 'local' } });
    assert.equal(member.status, 403);
  });

  it("others' networks are invisible unless shared or external; shared ones cannot be changed by others", async () => {
    const own = await create('bob', { name: 'bobs' });
    const shared = await create('admin', { name: 'everyone', shared: true });
    const external = await create('admin', { name: 'outside', 'router:external': true });
    const seen = ((await h.call('alice', 'GET', '/v2.0/networks')).body['networks'] as Net[]).map((n) => n.id);
    assert.ok(!seen.includes(own.id));
    assert.ok(seen.includes(shared.id) && seen.includes(external.id));
    assert.equal((await h.call('alice', 'GET', `/v2.0/networks/${own.id}`)).status, 404);
    assert.equal((await h.call('alice', 'DELETE', `/v2.0/networks/${own.id}`)).status, 404);
    const put = await h.call('alice', 'PUT', `/v2.0/networks/${shared.id}`, { network: { name: 'mine' } });
    assert.equal(put.status, 403);
  });

  it('update bumps the revision; read-only attributes are refused', async () => {
    const net = await create('alice', { name: 'before' });
    const r = await h.call('alice', 'PUT', `/v2.0/networks/${net.id}`, { network: { name: 'after', mtu: 1400 } });
    assert.equal(r.status, 200);
    const updated = r.body['network'] as Net;
    assert.equal(updated['name'], 'after');
    assert.equal(updated['mtu'], 1400);
    assert.equal(updated['revision_number'], 2);
    const ro = await h.call('alice', 'PUT', `/v2.0/networks/${net.id}`, { network: { project_id: 'x' } });
    assert.equal(errorOf(ro.body).message, 'Cannot update read-only attribute project_id');
  });

  it('filters, fields, sorting and paging with links', async () => {
    for (const name of ['p-1', 'p-2', 'p-3']) await create('bob', { name, description: 'paged' });
    const all = (await h.call('bob', 'GET', '/v2.0/networks?description=paged&sort_key=name&sort_dir=desc')).body;
    assert.deepEqual(
      (all['networks'] as Net[]).map((n) => n['name']),
      ['p-3', 'p-2', 'p-1'],
    );
    assert.equal(all['networks_links'], undefined);
    const page1 = (await h.call('bob', 'GET', '/v2.0/networks?description=paged&sort_key=name&sort_dir=asc&limit=2'))
      .body;
    assert.deepEqual(
      (page1['networks'] as Net[]).map((n) => n['name']),
      ['p-1', 'p-2'],
    );
    const next = (page1['networks_links'] as { href: string; rel: string }[]).find((l) => l.rel === 'next')!;
    const page2 = (await h.call('bob', 'GET', next.href.replace('http://localhost:80', ''))).body;
    assert.deepEqual(
      (page2['networks'] as Net[]).map((n) => n['name']),
      ['p-3'],
    );
    const links = page2['networks_links'] as { rel: string }[];
    assert.deepEqual(
      links.map((l) => l.rel),
      ['previous'],
    );
    const fields = (await h.call('bob', 'GET', '/v2.0/networks?name=p-1&fields=id&fields=name')).body;
    assert.deepEqual(Object.keys((fields['networks'] as Net[])[0]!).sort(), ['id', 'name']);
    const either = (await h.call('bob', 'GET', '/v2.0/networks?name=p-1&name=p-3')).body['networks'] as Net[];
    assert.equal(either.length, 2);
    const bool = (await h.call('bob', 'GET', '/v2.0/networks?description=paged&shared=False')).body;
    assert.equal((bool['networks'] as Net[]).length, 3);
    const badFilter = await h.call('bob', 'GET', '/v2.0/networks?colour=red');
    assert.equal(badFilter.status, 400);
    const badMarker = await h.call('bob', 'GET', '/v2.0/networks?limit=1&marker=00000000-0000-0000-0000-000000000000');
    assert.equal(errorOf(badMarker.body).type, 'NetworkNotFound');
  });

  it('network quota is enforced by counting', async () => {
    await h.database.db
      .insertInto('network_quotas')
      .values({ project_id: PROJECT_A, resource: 'network', hard_limit: 0 })
      .execute();
    try {
      const r = await h.call('alice', 'POST', '/v2.0/networks', { network: { name: 'over' } });
      assert.equal(r.status, 409);
      assert.deepEqual(errorOf(r.body), {
        type: 'OverQuota',
        message: "Quota exceeded for resources: ['network'].",
        detail: '',
      } as never);
    } finally {
      await h.database.db.deleteFrom('network_quotas').where('project_id', '=', PROJECT_A).execute();
    }
  });
});
