/**
 * /v2.0/routers: create with and without a gateway, the gateway only on external networks, interfaces
 * by subnet and by port, overlaps, extra routes, delete refused while interfaces remain; what the
 * openstack CLI sends and shows.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { errorOf, l3Fixture, post, type L3Fixture, type Obj } from './l3-fixture.ts';
import { PROJECT_A, startNetworkApi, type NetworkApiHarness } from './helpers.ts';

describe('network API: routers', () => {
  let api: NetworkApiHarness;
  let f: L3Fixture;
  before(async () => {
    api = await startNetworkApi();
    f = await l3Fixture(api);
  });
  after(() => api.close());

  const put = (who: 'alice' | 'bob' | 'admin', url: string, body: unknown) => api.call(who, 'PUT', url, body);

  it('creates a router with Neutron keys, sets and clears its gateway', async () => {
    const router = await post(api, 'alice', 'router', { name: 'r1', admin_state_up: true });
    assert.deepEqual(Object.keys(router).sort(), [
      'admin_state_up',
      'created_at',
      'description',
      'external_gateway_info',
      'id',
      'name',
      'project_id',
      'revision_number',
      'routes',
      'status',
      'tags',
      'tenant_id',
      'updated_at',
    ]);
    assert.deepEqual(
      [router['status'], router['external_gateway_info'], router['project_id']],
      ['ACTIVE', null, PROJECT_A],
    );

    const set = await put('alice', `/v2.0/routers/${router.id}`, {
      router: { external_gateway_info: { network_id: f.external } },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const gw = (set.body['router'] as Obj)['external_gateway_info'] as {
      network_id: string;
      enable_snat: boolean;
      external_fixed_ips: { subnet_id: string; ip_address: string }[];
    };
    assert.equal(gw.network_id, f.external);
    assert.equal(gw.enable_snat, true);
    assert.equal(gw.external_fixed_ips.length, 1);
    assert.equal(gw.external_fixed_ips[0]!.subnet_id, f.externalSubnet);
    assert.match(gw.external_fixed_ips[0]!.ip_address, /^203\.0\.113\.\d+$/);
    // The gateway port is the router's, not the project's: alice does not see it among her ports.
    const ports = await api.call('alice', 'GET', `/v2.0/ports?device_id=${router.id}`);
    assert.deepEqual(ports.body['ports'], []);

    const snat = await put('alice', `/v2.0/routers/${router.id}`, {
      router: { external_gateway_info: { network_id: f.external, enable_snat: false } },
    });
    assert.equal(snat.status, 403, 'only an admin chooses SNAT');
    const adminSnat = await put('admin', `/v2.0/routers/${router.id}`, {
      router: { external_gateway_info: { network_id: f.external, enable_snat: false } },
    });
    assert.equal(
      ((adminSnat.body['router'] as Obj)['external_gateway_info'] as { enable_snat: boolean }).enable_snat,
      false,
    );

    const cleared = await put('alice', `/v2.0/routers/${router.id}`, { router: { external_gateway_info: {} } });
    assert.equal((cleared.body['router'] as Obj)['external_gateway_info'], null);
    const gwPorts = await api.database.db.selectFrom('ports').select('id').where('device_id', '=', router.id).execute();
    assert.deepEqual(gwPorts, [], 'the gateway port went with the gateway');
  });

  it('refuses a gateway on a network that is not external, and changes nothing', async () => {
    const router = await post(api, 'alice', 'router', { name: 'r-bad' });
    const res = await put('alice', `/v2.0/routers/${router.id}`, {
      router: { external_gateway_info: { network_id: f.alice.network } },
    });
    assert.equal(res.status, 400);
    assert.equal(
      errorOf(res.body).message,
      `Bad router request: Network ${f.alice.network} is not an external network.`,
    );
    const unknown = await put('alice', `/v2.0/routers/${router.id}`, {
      router: { external_gateway_info: { network_id: '00000000-0000-0000-0000-000000000000' } },
    });
    assert.equal(unknown.status, 404);
    const badId = await put('alice', `/v2.0/routers/${router.id}`, {
      router: { external_gateway_info: { network_id: 'x' } },
    });
    assert.equal(badId.status, 400);
    const created = await api.call('alice', 'POST', '/v2.0/routers', {
      router: { name: 'r-bad2', external_gateway_info: { network_id: f.bob.network } },
    });
    assert.equal(created.status, 404, "bob's private network is not found for alice");
    const after = (await api.call('alice', 'GET', `/v2.0/routers/${router.id}`)).body['router'] as Obj;
    assert.equal(after['external_gateway_info'], null);
    const names = ((await api.call('alice', 'GET', '/v2.0/routers')).body['routers'] as Obj[]).map((r) => r['name']);
    assert.ok(!names.includes('r-bad2'));
  });

  it('adds and removes interfaces by subnet and by port; refuses overlaps and deleting a router in use', async () => {
    const router = await post(api, 'alice', 'router', {
      name: 'r2',
      external_gateway_info: { network_id: f.external },
    });
    const added = await put('alice', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: f.alice.subnet });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const info = added.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(info).sort(), [
      'id',
      'network_id',
      'port_id',
      'project_id',
      'subnet_id',
      'subnet_ids',
      'tenant_id',
    ]);
    assert.deepEqual([info['id'], info['subnet_id'], info['network_id']], [router.id, f.alice.subnet, f.alice.network]);
    const port = (await api.call('alice', 'GET', `/v2.0/ports/${info['port_id'] as string}`)).body['port'] as Obj;
    assert.equal(port['device_owner'], 'network:router_interface');
    assert.equal(port['device_id'], router.id);
    assert.deepEqual(port['fixed_ips'], [{ subnet_id: f.alice.subnet, ip_address: '10.10.0.1' }]);

    const again = await put('alice', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: f.alice.subnet });
    assert.equal(again.status, 400);
    assert.equal(
      errorOf(again.body).message,
      `Bad router request: Router already has a port on subnet ${f.alice.subnet}.`,
    );

    const overlapNet = await post(api, 'alice', 'network', { name: 'overlap' });
    const overlapSub = await post(api, 'alice', 'subnet', {
      network_id: overlapNet.id,
      ip_version: 4,
      cidr: '10.10.0.128/25',
    });
    const overlap = await put('alice', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: overlapSub.id });
    assert.equal(overlap.status, 400);
    assert.match(errorOf(overlap.body).message, /overlaps with cidr 10\.10\.0\.0\/24/);

    for (const body of [{}, { subnet_id: f.alice.subnet, port_id: f.alice.port }, { subnet_id: 'nope' }]) {
      const bad = await put('alice', `/v2.0/routers/${router.id}/add_router_interface`, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    const foreign = await put('alice', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: f.bob.subnet });
    assert.equal(foreign.status, 404);
    assert.equal(errorOf(foreign.body).type, 'SubnetNotFound');

    const inUse = await api.call('alice', 'DELETE', `/v2.0/routers/${router.id}`);
    assert.equal(inUse.status, 409);
    assert.deepEqual(errorOf(inUse.body), {
      type: 'RouterInUse',
      message: `Router ${router.id} has ports still attached: ${info['port_id'] as string}`,
      detail: '',
    } as never);

    // By port: a free port of a second network becomes the router's.
    const second = await post(api, 'alice', 'network', { name: 'second' });
    const secondSub = await post(api, 'alice', 'subnet', {
      network_id: second.id,
      ip_version: 4,
      cidr: '10.30.0.0/24',
    });
    const free = await post(api, 'alice', 'port', { network_id: second.id });
    const byPort = await put('alice', `/v2.0/routers/${router.id}/add_router_interface`, { port_id: free.id });
    assert.equal(byPort.status, 200, JSON.stringify(byPort.body));
    assert.deepEqual((byPort.body as Obj)['subnet_ids'], [secondSub.id]);
    const taken = await put('alice', `/v2.0/routers/${router.id}/add_router_interface`, { port_id: free.id });
    assert.equal(taken.status, 409);
    assert.equal(errorOf(taken.body).type, 'PortInUse');

    // Extra routes: the next hop must be on a connected subnet.
    const routes = await put('alice', `/v2.0/routers/${router.id}`, {
      router: { routes: [{ destination: '172.16.0.0/16', nexthop: '10.10.0.50' }] },
    });
    assert.equal(routes.status, 200, JSON.stringify(routes.body));
    assert.deepEqual((routes.body['router'] as Obj)['routes'], [
      { destination: '172.16.0.0/16', nexthop: '10.10.0.50' },
    ]);
    const offLink = await put('alice', `/v2.0/routers/${router.id}`, {
      router: { routes: [{ destination: '172.17.0.0/16', nexthop: '192.0.2.1' }] },
    });
    assert.equal(offLink.status, 400);
    assert.equal(errorOf(offLink.body).type, 'InvalidRoutes');
    // A next hop above the addresses a first port is given (a random one of the pool's first free few),
    // so it is never the router's own interface address.
    const addMore = await put('alice', `/v2.0/routers/${router.id}/add_extraroutes`, {
      router: { routes: [{ destination: '172.18.0.0/16', nexthop: '10.30.0.250' }] },
    });
    assert.equal(((addMore.body['router'] as Obj)['routes'] as unknown[]).length, 2);
    const removeOne = await put('alice', `/v2.0/routers/${router.id}/remove_extraroutes`, {
      router: { routes: [{ destination: '172.16.0.0/16', nexthop: '10.10.0.50' }] },
    });
    assert.deepEqual((removeOne.body['router'] as Obj)['routes'], [
      { destination: '172.18.0.0/16', nexthop: '10.30.0.250' },
    ]);
    await put('alice', `/v2.0/routers/${router.id}`, { router: { routes: [] } });

    const notThere = await put('alice', `/v2.0/routers/${router.id}/remove_router_interface`, {
      subnet_id: overlapSub.id,
    });
    assert.equal(notThere.status, 404);
    assert.equal(errorOf(notThere.body).type, 'RouterInterfaceNotFoundForSubnet');
    const removed = await put('alice', `/v2.0/routers/${router.id}/remove_router_interface`, {
      subnet_id: f.alice.subnet,
    });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal((await api.call('alice', 'GET', `/v2.0/ports/${info['port_id'] as string}`)).status, 404);
    const byPortOut = await put('alice', `/v2.0/routers/${router.id}/remove_router_interface`, { port_id: free.id });
    assert.equal(byPortOut.status, 200);
    assert.equal((await api.call('alice', 'DELETE', `/v2.0/routers/${router.id}`)).status, 204);
    assert.equal((await api.call('alice', 'GET', `/v2.0/routers/${router.id}`)).status, 404);
    const leftovers = await api.database.db
      .selectFrom('router_ports')
      .select('port_id')
      .where('router_id', '=', router.id)
      .execute();
    assert.deepEqual(leftovers, []);
  });

  it("hides other projects' routers", async () => {
    const router = await post(api, 'bob', 'router', { name: 'bobs' });
    const seen = await api.call('alice', 'GET', `/v2.0/routers/${router.id}`);
    assert.equal(seen.status, 404);
    assert.deepEqual(errorOf(seen.body), {
      type: 'RouterNotFound',
      message: `Router ${router.id} could not be found`,
      detail: '',
    } as never);
    assert.equal((await api.call('alice', 'DELETE', `/v2.0/routers/${router.id}`)).status, 404);
    const list = (await api.call('admin', 'GET', `/v2.0/routers?name=bobs&fields=id`)).body['routers'];
    assert.deepEqual(list, [{ id: router.id }]);
  });
});
