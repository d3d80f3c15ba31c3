/**
 * /v2.0/floatingips: create from an external network (only), associate with a port reachable through a
 * router with a gateway on that network, disassociate, delete; another project's port, a taken or
 * chosen address, and port_details; the port's NetworkInfo gives the datapath the mapping.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Compile } from 'typebox/compile';
import { disassociatePortFloatingIps } from '../../../src/network/floating-ips.ts';
import { buildNetworkInfo } from '../../../src/network/network-info.ts';
import { VifFloatingIpSchema } from '../../../src/wire/messages/network-info.ts';
import { errorOf, l3Fixture, post, type L3Fixture, type Obj } from './l3-fixture.ts';
import { PROJECT_A, PROJECT_B, startNetworkApi, type NetworkApiHarness } from './helpers.ts';

describe('network API: floating IPs', () => {
  let api: NetworkApiHarness;
  let f: L3Fixture;
  before(async () => {
    api = await startNetworkApi();
    f = await l3Fixture(api);
    const router = await post(api, 'alice', 'router', { name: 'r', external_gateway_info: { network_id: f.external } });
    const added = await api.call('alice', 'PUT', `/v2.0/routers/${router.id}/add_router_interface`, {
      subnet_id: f.alice.subnet,
    });
    assert.equal(added.status, 200);
  });
  after(() => api.close());

  /** The floating IPs the port's host is sent in its NetworkInfo. */
  const floatingIpsSent = async (portId: string) => {
    const [vif] = await buildNetworkInfo(api.database.db, [portId]);
    assert.ok(vif, 'the port has a VIF');
    return vif.floating_ips;
  };
  const fipCount = async () => (await api.database.db.selectFrom('floating_ips').select('id').execute()).length;
  const portCount = async () => (await api.database.db.selectFrom('ports').select('id').execute()).length;

  it('creates a floating IP from the external network, DOWN and unmapped, with Neutron keys', async () => {
    const fip = await post(api, 'alice', 'floatingip', { floating_network_id: f.external });
    assert.deepEqual(Object.keys(fip).sort(), [
      'created_at',
      'description',
      'fixed_ip_address',
      'floating_ip_address',
      'floating_network_id',
      'id',
      'port_details',
      'port_id',
      'project_id',
      'revision_number',
      'router_id',
      'status',
      'tags',
      'tenant_id',
      'updated_at',
    ]);
    assert.match(fip['floating_ip_address'] as string, /^203\.0\.113\.\d+$/);
    assert.deepEqual(
      [
        fip['status'],
        fip['port_id'],
        fip['fixed_ip_address'],
        fip['router_id'],
        fip['port_details'],
        fip['project_id'],
      ],
      ['DOWN', null, null, null, null, PROJECT_A],
    );
    const holder = await api.database.db
      .selectFrom('ports')
      .select(['device_owner', 'device_id', 'project_id'])
      .innerJoin('ip_allocations', 'ip_allocations.port_id', 'ports.id')
      .where('ip_allocations.ip_address', '=', fip['floating_ip_address'] as string)
      .executeTakeFirstOrThrow();
    assert.deepEqual(holder, { device_owner: 'network:floatingip', device_id: fip.id, project_id: '' });
  });

  it('associates with a port, shows port_details, disassociates and deletes', async () => {
    const fip = await post(api, 'alice', 'floatingip', { floating_network_id: f.external, description: 'web' });
    const set = await api.call('alice', 'PUT', `/v2.0/floatingips/${fip.id}`, {
      floatingip: { port_id: f.alice.port },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const mapped = set.body['floatingip'] as Obj;
    const port = (await api.call('alice', 'GET', `/v2.0/ports/${f.alice.port}`)).body['port'] as Obj;
    const fixed = (port['fixed_ips'] as { ip_address: string }[])[0]!.ip_address;
    assert.deepEqual(
      [mapped['status'], mapped['port_id'], mapped['fixed_ip_address']],
      ['ACTIVE', f.alice.port, fixed],
    );
    assert.ok(typeof mapped['router_id'] === 'string');
    assert.deepEqual(mapped['port_details'], {
      name: 'alice-vm',
      network_id: f.alice.network,
      mac_address: port['mac_address'],
      admin_state_up: true,
      status: port['status'],
      device_id: port['device_id'],
      device_owner: 'compute:nova',
    });
    const filtered = await api.call('alice', 'GET', `/v2.0/floatingips?port_id=${f.alice.port}`);
    assert.deepEqual(
      (filtered.body['floatingips'] as Obj[]).map((x) => x.id),
      [fip.id],
    );

    // The datapath's view of the port: the mapping with its external network.
    const vifs = await floatingIpsSent(f.alice.port);
    assert.deepEqual(
      vifs.map((v) => [v.id, v.floating_ip_address, v.fixed_ip_address, v.floating_network.id]),
      [[fip.id, fip['floating_ip_address'], fixed, f.external]],
    );
    const check = Compile(VifFloatingIpSchema);
    assert.ok(vifs.every((v) => check.Check(v)));

    const second = await post(api, 'alice', 'floatingip', { floating_network_id: f.external });
    const dup = await api.call('alice', 'PUT', `/v2.0/floatingips/${second.id}`, {
      floatingip: { port_id: f.alice.port },
    });
    assert.equal(dup.status, 409);
    assert.equal(errorOf(dup.body).type, 'FloatingIPPortAlreadyAssociated');

    const unset = await api.call('alice', 'PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: null } });
    const cleared = unset.body['floatingip'] as Obj;
    assert.deepEqual(
      [
        cleared['status'],
        cleared['port_id'],
        cleared['fixed_ip_address'],
        cleared['router_id'],
        cleared['port_details'],
      ],
      ['DOWN', null, null, null, null],
    );
    assert.deepEqual(await floatingIpsSent(f.alice.port), []);

    const ports = await portCount();
    assert.equal((await api.call('alice', 'DELETE', `/v2.0/floatingips/${fip.id}`)).status, 204);
    assert.equal(await portCount(), ports - 1, 'the floating IP port went with it');
    const gone = await api.call('alice', 'GET', `/v2.0/floatingips/${fip.id}`);
    assert.deepEqual(errorOf(gone.body), {
      type: 'FloatingIPNotFound',
      message: `Floating IP ${fip.id} could not be found`,
      detail: '',
    } as never);
    await api.call('alice', 'DELETE', `/v2.0/floatingips/${second.id}`);
  });

  it('associates at create time, and refuses what Neutron refuses without leaving anything behind', async () => {
    const atCreate = await post(api, 'alice', 'floatingip', { floating_network_id: f.external, port_id: f.alice.port });
    assert.equal(atCreate['status'], 'ACTIVE');
    await api.call('alice', 'DELETE', `/v2.0/floatingips/${atCreate.id}`);

    const before = [await fipCount(), await portCount()];
    const notExternal = await api.call('alice', 'POST', '/v2.0/floatingips', {
      floatingip: { floating_network_id: f.alice.network },
    });
    assert.equal(notExternal.status, 400);
    assert.equal(
      errorOf(notExternal.body).message,
      `Bad floatingip request: Network ${f.alice.network} is not a valid external network.`,
    );
    assert.equal(errorOf(notExternal.body).type, 'BadRequest');
    const bobsPort = await api.call('alice', 'POST', '/v2.0/floatingips', {
      floatingip: { floating_network_id: f.external, port_id: f.bob.port },
    });
    assert.equal(bobsPort.status, 404);
    assert.equal(errorOf(bobsPort.body).type, 'PortNotFound');
    const unreachable = await api.call('alice', 'POST', '/v2.0/floatingips', {
      floatingip: { floating_network_id: f.otherExternal, port_id: f.alice.port },
    });
    assert.equal(unreachable.status, 404);
    assert.equal(errorOf(unreachable.body).type, 'ExternalGatewayForFloatingIPNotFound');
    assert.match(errorOf(unreachable.body).message, /^External network .* is not reachable from subnet /);
    const chosen = await api.call('alice', 'POST', '/v2.0/floatingips', {
      floatingip: { floating_network_id: f.external, floating_ip_address: '203.0.113.77' },
    });
    assert.equal(chosen.status, 403, 'only an admin picks the address');
    const badBodies = [
      {},
      { floatingip: {} },
      { floatingip: { floating_network_id: 'nope' } },
      { floatingip: { floating_network_id: f.external, fixed_ip_address: '10.10.0.5' } },
      { floatingip: { floating_network_id: f.external, port_id: f.alice.port, fixed_ip_address: '10.10.0.250' } },
      { floatingip: { floating_network_id: f.external, status: 'ACTIVE' } },
    ];
    for (const body of badBodies) {
      const res = await api.call('alice', 'POST', '/v2.0/floatingips', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    }
    assert.deepEqual([await fipCount(), await portCount()], before);
  });

  it('lets an admin choose the address; a taken address is a conflict', async () => {
    const chosen = await post(api, 'admin', 'floatingip', {
      floating_network_id: f.external,
      floating_ip_address: '203.0.113.77',
      project_id: PROJECT_A,
    });
    assert.equal(chosen['floating_ip_address'], '203.0.113.77');
    const before = await portCount();
    const taken = await api.call('admin', 'POST', '/v2.0/floatingips', {
      floatingip: { floating_network_id: f.external, floating_ip_address: '203.0.113.77' },
    });
    assert.equal(taken.status, 409);
    assert.equal(errorOf(taken.body).type, 'IpAddressAlreadyAllocated');
    assert.equal(await portCount(), before);
    // Alice owns it (the admin made it for her project) and sees it; bob does not.
    assert.equal((await api.call('alice', 'GET', `/v2.0/floatingips/${chosen.id}`)).status, 200);
    assert.equal((await api.call('bob', 'GET', `/v2.0/floatingips/${chosen.id}`)).status, 404);
    assert.equal((await api.call('bob', 'DELETE', `/v2.0/floatingips/${chosen.id}`)).status, 404);
  });

  it('counts floating IPs against the quota and leaves no port behind when over it', async () => {
    const mine = ((await api.call('bob', 'GET', '/v2.0/floatingips')).body['floatingips'] as Obj[]).length;
    await api.call('admin', 'PUT', `/v2.0/quotas/${PROJECT_B}`, { quota: { floatingip: mine + 1 } });
    const one = await post(api, 'bob', 'floatingip', { floating_network_id: f.external });
    const before = await portCount();
    const over = await api.call('bob', 'POST', '/v2.0/floatingips', {
      floatingip: { floating_network_id: f.external },
    });
    assert.equal(over.status, 409);
    assert.equal(errorOf(over.body).type, 'OverQuota');
    assert.equal(await portCount(), before);
    await api.call('bob', 'DELETE', `/v2.0/floatingips/${one.id}`);
    await api.call('admin', 'DELETE', `/v2.0/quotas/${PROJECT_B}`);
  });

  it("unmaps a port's floating IPs when the port goes (disassociatePortFloatingIps)", async () => {
    const fip = await post(api, 'alice', 'floatingip', { floating_network_id: f.external, port_id: f.alice.port });
    await api.database.db.transaction().execute((trx) => disassociatePortFloatingIps(trx, f.alice.port));
    const shown = (await api.call('alice', 'GET', `/v2.0/floatingips/${fip.id}`)).body['floatingip'] as Obj;
    assert.deepEqual(
      [shown['status'], shown['port_id'], shown['fixed_ip_address'], shown['router_id']],
      ['DOWN', null, null, null],
    );
    await api.call('alice', 'DELETE', `/v2.0/floatingips/${fip.id}`);
  });

  it('unmaps the floating IP of a port deleted through the port API', async () => {
    const port = await post(api, 'alice', 'port', { network_id: f.alice.network });
    const fip = await post(api, 'alice', 'floatingip', { floating_network_id: f.external, port_id: port.id });
    assert.equal((await api.call('alice', 'DELETE', `/v2.0/ports/${String(port.id)}`)).status, 204);
    const shown = (await api.call('alice', 'GET', `/v2.0/floatingips/${fip.id}`)).body['floatingip'] as Obj;
    assert.deepEqual([shown['status'], shown['port_id'], shown['fixed_ip_address']], ['DOWN', null, null]);
    await api.call('alice', 'DELETE', `/v2.0/floatingips/${fip.id}`);
  });

  it('keeps a router interface while a floating IP needs it', async () => {
    const [router] = (await api.call('alice', 'GET', '/v2.0/routers?name=r')).body['routers'] as Obj[];
    const fip = await post(api, 'alice', 'floatingip', { floating_network_id: f.external, port_id: f.alice.port });
    const remove = await api.call('alice', 'PUT', `/v2.0/routers/${router!.id}/remove_router_interface`, {
      subnet_id: f.alice.subnet,
    });
    assert.equal(remove.status, 409);
    assert.equal(errorOf(remove.body).type, 'RouterInterfaceInUseByFloatingIP');
    const clearGw = await api.call('alice', 'PUT', `/v2.0/routers/${router!.id}`, {
      router: { external_gateway_info: null },
    });
    assert.equal(clearGw.status, 409);
    assert.equal(errorOf(clearGw.body).type, 'RouterExternalGatewayInUseByFloatingIp');
    await api.call('alice', 'DELETE', `/v2.0/floatingips/${fip.id}`);
  });
});
