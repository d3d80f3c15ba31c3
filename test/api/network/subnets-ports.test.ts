/** /v2.0/subnets and /v2.0/ports: layouts, refusals with Neutron's messages, addresses, MACs, groups, binding. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNetworkApi, type NetworkApiHarness } from './helpers.ts';

type Obj = Record<string, unknown> & { id: string };

describe('network API: subnets and ports', () => {
  let h: NetworkApiHarness;
  let netId: string;
  let subnetId: string;
  before(async () => {
    h = await startNetworkApi();
    netId = ((await h.call('alice', 'POST', '/v2.0/networks', { network: { name: 'n' } })).body['network'] as Obj).id;
  });
  after(() => h.close());

  const post = (who: 'alice' | 'bob' | 'admin', kind: string, body: Record<string, unknown>) =>
    h.call(who, 'POST', `/v2.0/${kind}s`, { [kind]: body });
  const err = (body: Record<string, unknown>) => body['NeutronError'] as { type: string; message: string };

  it('a subnet gets its gateway and pools by default; layouts are checked', async () => {
    const r = await post('alice', 'subnet', {
      network_id: netId,
      ip_version: 4,
      cidr: '192.168.5.0/24',
      gateway_ip: '192.168.5.100',
      dns_nameservers: ['8.8.4.4', '8.8.8.8'],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const subnet = r.body['subnet'] as Obj;
    subnetId = subnet.id;
    assert.deepEqual(subnet['allocation_pools'], [
      { start: '192.168.5.1', end: '192.168.5.99' },
      { start: '192.168.5.101', end: '192.168.5.254' },
    ]);
    assert.deepEqual(subnet['dns_nameservers'], ['8.8.4.4', '8.8.8.8']);
    const v6 = await post('alice', 'subnet', { network_id: netId, ip_version: 6, cidr: '2001:DB8::/64' });
    assert.equal((v6.body['subnet'] as Obj)['cidr'], '2001:db8::/64');
    assert.equal((v6.body['subnet'] as Obj)['gateway_ip'], '2001:db8::1');
    const noGw = await post('alice', 'subnet', {
      network_id: netId,
      ip_version: 4,
      cidr: '172.16.0.0/30',
      gateway_ip: null,
    });
    assert.deepEqual((noGw.body['subnet'] as Obj)['allocation_pools'], [{ start: '172.16.0.1', end: '172.16.0.2' }]);

    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ cidr: '192.168.5.0/25' }, 400, 'InvalidInput', 'overlaps with another subnet'],
      [{ cidr: 'banana' }, 400, 'HTTPBadRequest', "Invalid input for cidr. Reason: 'banana' is not a valid IP subnet."],
      [{ cidr: '10.1.0.0/24', ip_version: 6 }, 400, 'InvalidInput', "does not match the ip_version '6'"],
      [
        { cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.1.0.10', end: '10.1.1.5' }] },
        400,
        'OutOfBoundsAllocationPool',
        'spans beyond the subnet cidr 10.1.0.0/24',
      ],
      [
        { cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.1.0.1', end: '10.1.0.9' }] },
        409,
        'GatewayConflictWithAllocationPools',
        'Gateway ip 10.1.0.1 conflicts with allocation pool 10.1.0.1-10.1.0.9.',
      ],
      [
        {
          cidr: '10.1.0.0/24',
          allocation_pools: [
            { start: '10.1.0.10', end: '10.1.0.20' },
            { start: '10.1.0.15', end: '10.1.0.30' },
          ],
        },
        409,
        'OverlappingAllocationPools',
        'Found overlapping allocation pools',
      ],
      [{ cidr: '10.1.0.0/24', dns_nameservers: ['1.1.1.1', '1.1.1.1'] }, 400, 'HTTPBadRequest', 'Duplicate nameserver'],
      [
        { cidr: '10.1.0.0/24', network_id: '00000000-0000-0000-0000-000000000000' },
        404,
        'NetworkNotFound',
        'could not be found',
      ],
    ];
    for (const [extra, status, type, message] of cases) {
      const bad = await post('alice', 'subnet', { network_id: netId, ip_version: 4, ...extra });
      assert.equal(bad.status, status, JSON.stringify(bad.body));
      assert.equal(err(bad.body).type, type);
      assert.ok(err(bad.body).message.includes(message), err(bad.body).message);
    }
    const bobs = await post('bob', 'subnet', { network_id: netId, ip_version: 4, cidr: '10.2.0.0/24' });
    assert.equal(bobs.status, 404);
  });

  it('ports: automatic and requested addresses, with the refusals', async () => {
    const auto = await post('alice', 'port', { network_id: netId, name: 'a' });
    assert.equal(auto.status, 201);
    const port = auto.body['port'] as Obj;
    const ips = port['fixed_ips'] as { subnet_id: string; ip_address: string }[];
    // One IPv4 and one IPv6 address by default (two IPv4 subnets: the first with room).
    assert.deepEqual(
      ips.map((f) => f.ip_address.includes(':')),
      [false, true],
    );
    assert.equal(ips[0]!.subnet_id, subnetId);
    assert.match(port['mac_address'] as string, /^fa:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
    assert.equal(port['binding:host_id'], undefined, 'admin-only');
    assert.equal(port['binding:vnic_type'], 'normal');
    assert.equal((port['security_groups'] as string[]).length, 1);

    // Well past the first 16 free addresses, among which IPAM picked the automatic one at random.
    const given = await post('alice', 'port', {
      network_id: netId,
      fixed_ips: [{ subnet_id: subnetId, ip_address: '192.168.5.70' }],
      mac_address: 'FA:16:3E:00:00:01',
    });
    assert.equal(given.status, 201);
    assert.equal((given.body['port'] as Obj)['mac_address'], 'fa:16:3e:00:00:01');
    const cases: [Record<string, unknown>, number, string, string][] = [
      [
        { fixed_ips: [{ ip_address: '192.168.5.70' }] },
        409,
        'IpAddressAlreadyAllocated',
        'IP address 192.168.5.70 already allocated in subnet',
      ],
      [
        { fixed_ips: [{ subnet_id: subnetId, ip_address: '10.0.0.1' }] },
        400,
        'InvalidIpForSubnet',
        'IP address 10.0.0.1 is not a valid IP for the specified subnet.',
      ],
      [{ fixed_ips: [{ ip_address: '192.168.5.255' }] }, 400, 'InvalidIpForSubnet', 'is not a valid IP'],
      [{ fixed_ips: [{ ip_address: '192.168.5.100' }] }, 400, 'InvalidIpForSubnet', 'is not a valid IP'],
      [
        { fixed_ips: [{ ip_address: '10.77.0.1' }] },
        400,
        'InvalidIpForNetwork',
        'any of the subnets on the specified network',
      ],
      [{ mac_address: 'fa:16:3e:00:00:01' }, 409, 'MacAddressInUse', 'The mac address fa:16:3e:00:00:01 is in use.'],
      [{ mac_address: 'nope' }, 400, 'HTTPBadRequest', "'nope' is not a valid MAC address"],
      [
        { 'binding:host_id': 'h1' },
        403,
        'PolicyNotAuthorized',
        '(rule:create_port:binding:host_id) is disallowed by policy',
      ],
      [{ 'binding:vif_type': 'ovs' }, 400, 'HTTPBadRequest', "Attribute 'binding:vif_type' not allowed in POST"],
      [{ security_groups: ['00000000-0000-0000-0000-000000000000'] }, 404, 'SecurityGroupNotFound', 'does not exist'],
      [{ port_security_enabled: false, security_groups: [] }, 201, '', ''],
    ];
    for (const [extra, status, type, message] of cases) {
      const r = await post('alice', 'port', { network_id: netId, ...extra });
      assert.equal(r.status, status, JSON.stringify(r.body));
      if (status === 201) continue;
      assert.equal(err(r.body).type, type);
      assert.ok(err(r.body).message.includes(message), err(r.body).message);
    }
    const before = (await h.call('alice', 'GET', '/v2.0/ports')).body['ports'] as Obj[];
    assert.equal(before.length, 3, 'refused creates left nothing behind');
  });

  it('an admin binds a port; updates move addresses; another project sees nothing', async () => {
    const r = await post('admin', 'port', {
      network_id: netId,
      project_id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      'binding:host_id': 'cmp-1',
      device_id: 'instance-1',
      device_owner: 'compute:nova',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const port = r.body['port'] as Obj;
    assert.equal(port['binding:vif_type'], 'bridge');
    assert.deepEqual(port['binding:vif_details'], { connectivity: 'l2', port_filter: true });
    const moved = await h.call('alice', 'PUT', `/v2.0/ports/${port.id}`, {
      port: { fixed_ips: [{ subnet_id: subnetId, ip_address: '192.168.5.50' }], name: 'moved' },
    });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.deepEqual(
      ((moved.body['port'] as Obj)['fixed_ips'] as { ip_address: string }[]).map((f) => f.ip_address),
      ['192.168.5.50'],
    );
    assert.equal((moved.body['port'] as Obj)['revision_number'], 2);
    const byDevice = (await h.call('alice', 'GET', '/v2.0/ports?device_id=instance-1')).body['ports'] as Obj[];
    assert.deepEqual(
      byDevice.map((p) => p.id),
      [port.id],
    );
    const byIp = (await h.call('alice', 'GET', '/v2.0/ports?fixed_ips=ip_address%3D192.168.5.50')).body[
      'ports'
    ] as Obj[];
    assert.deepEqual(
      byIp.map((p) => p.id),
      [port.id],
    );
    assert.equal((await h.call('bob', 'GET', `/v2.0/ports/${port.id}`)).status, 404);
    assert.deepEqual((await h.call('bob', 'GET', '/v2.0/ports')).body['ports'], []);
  });

  it('a subnet or network in use is refused; once empty both go', async () => {
    const subnetBusy = await h.call('alice', 'DELETE', `/v2.0/subnets/${subnetId}`);
    assert.equal(subnetBusy.status, 409);
    assert.equal(err(subnetBusy.body).type, 'SubnetInUse');
    const busy = await h.call('alice', 'DELETE', `/v2.0/networks/${netId}`);
    assert.equal(busy.status, 409);
    assert.equal(err(busy.body).type, 'NetworkInUse');
    for (const p of (await h.call('alice', 'GET', `/v2.0/ports?network_id=${netId}`)).body['ports'] as Obj[]) {
      assert.equal((await h.call('alice', 'DELETE', `/v2.0/ports/${p.id}`)).status, 204);
    }
    // A DHCP port does not keep a network in use: Neutron deletes it with the network.
    await post('admin', 'port', {
      network_id: netId,
      device_owner: 'network:dhcp',
      project_id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    });
    assert.equal((await h.call('alice', 'DELETE', `/v2.0/networks/${netId}`)).status, 204);
    for (const table of ['ports', 'subnets', 'ip_allocations', 'subnet_allocation_pools'] as const) {
      const rows = await h.database.db.selectFrom(table).selectAll().execute();
      assert.deepEqual(rows, [], `${table} emptied`);
    }
  });
});
