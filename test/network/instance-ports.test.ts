/** A server's ports through the library the conductor will call: allocate, bind, describe, release. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { userContext } from '../../src/common/context.ts';
import { IpAddressGenerationFailure } from '../../src/network/errors.ts';
import {
  allocateInstancePorts,
  bindInstancePorts,
  buildNetworkInfo,
  deallocateInstancePorts,
} from '../../src/network/instance-ports.ts';
import { createNetwork } from '../../src/network/networks.ts';
import { createPort, getPort } from '../../src/network/ports.ts';
import { createSubnet } from '../../src/network/subnets.ts';
import { NetworkInfoSchema } from '../../src/wire/messages/network-info.ts';
import { Value } from 'typebox/value';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';

const PROJECT = 'p1';
const ctx = userContext({ userId: 'u', projectId: PROJECT, roles: ['member'] });

describe('instance ports', () => {
  let database: TestDatabase;
  let netId: string;
  let fullNetId: string;
  before(async () => {
    database = await openTestDatabase();
    const db = database.db;
    netId = (await createNetwork(db, { project_id: PROJECT, name: 'private' })).id;
    await createSubnet(db, ctx, {
      project_id: PROJECT,
      network_id: netId,
      ip_version: 4,
      cidr: '10.5.0.0/24',
      dns_nameservers: ['10.5.0.53'],
      host_routes: [{ destination: '10.6.0.0/24', nexthop: '10.5.0.254' }],
    });
    fullNetId = (await createNetwork(db, { project_id: PROJECT, name: 'full' })).id;
    await createSubnet(db, ctx, {
      project_id: PROJECT,
      network_id: fullNetId,
      ip_version: 4,
      cidr: '10.7.0.0/24',
      allocation_pools: [{ start: '10.7.0.10', end: '10.7.0.10' }],
    });
    await createPort(db, ctx, { project_id: PROJECT, network_id: fullNetId });
  });
  after(() => database.close());

  it('allocates new and given ports, describes them, moves and releases them', async () => {
    const db = database.db;
    const given = await createPort(db, ctx, { project_id: PROJECT, network_id: netId, name: 'mine' });
    const instance = { uuid: 'inst-1', projectId: PROJECT, host: 'cmp-1' };
    const ports = await allocateInstancePorts(db, ctx, instance, [
      { networkId: netId, fixedIp: '10.5.0.77' },
      { portId: given.id },
    ]);
    assert.deepEqual(
      ports.map((p) => p.created),
      [true, false],
    );
    for (const p of ports) {
      const port = await getPort(db, ctx, p.portId);
      assert.equal(port.device_id, 'inst-1');
      assert.equal(port.device_owner, 'compute:nova');
      assert.equal(port['binding:host_id'], 'cmp-1');
      assert.equal(port['binding:vif_type'], 'bridge');
    }

    const info = await buildNetworkInfo(
      db,
      ports.map((p) => p.portId),
    );
    assert.ok(Value.Check(NetworkInfoSchema, info), JSON.stringify([...Value.Errors(NetworkInfoSchema, info)][0]));
    const vif = info[0]!;
    assert.equal(vif.devname, `tap${ports[0]!.portId.slice(0, 11)}`);
    assert.equal(vif.network.bridge, `brq${netId.slice(0, 11)}`);
    assert.equal(vif.network.network_type, 'local');
    assert.deepEqual(
      vif.fixed_ips.map((f) => f.ip_address),
      ['10.5.0.77'],
    );
    assert.deepEqual(vif.network.subnets[0]!.dns_nameservers, ['10.5.0.53']);
    assert.deepEqual(vif.network.subnets[0]!.host_routes, [{ destination: '10.6.0.0/24', nexthop: '10.5.0.254' }]);
    // The default group: egress anywhere, ingress from the group's members (both ports here, plus the
    // port on the full network).
    const ingress4 = vif.security_group_rules.find((r) => r.direction === 'ingress' && r.ethertype === 'IPv4')!;
    const memberIps = [vif, info[1]!].map((v) => `${v.fixed_ips[0]!.ip_address}/32`);
    for (const ip of memberIps) assert.ok(ingress4.remote_prefixes!.includes(ip), ip);
    const egress = vif.security_group_rules.filter((r) => r.direction === 'egress');
    assert.deepEqual(egress.map((r) => [r.ethertype, r.remote_prefixes]).sort(), [
      ['IPv4', null],
      ['IPv6', null],
    ]);

    await bindInstancePorts(
      db,
      ports.map((p) => p.portId),
      'cmp-2',
    );
    assert.equal((await getPort(db, ctx, given.id))['binding:host_id'], 'cmp-2');

    await deallocateInstancePorts(db, ports);
    await assert.rejects(getPort(db, ctx, ports[0]!.portId), /could not be found/);
    const released = await getPort(db, ctx, given.id);
    assert.equal(released.device_id, '');
    assert.equal(released['binding:host_id'], '');
    assert.equal(released['binding:vif_type'], 'unbound');
  });

  it('a failed allocation leaves nothing behind', async () => {
    const db = database.db;
    const before = await db.selectFrom('ports').select('id').execute();
    await assert.rejects(
      allocateInstancePorts(db, ctx, { uuid: 'inst-2', projectId: PROJECT, host: 'cmp-1' }, [
        { networkId: netId },
        { networkId: fullNetId },
      ]),
      (err: unknown) => err instanceof IpAddressGenerationFailure,
    );
    assert.deepEqual(await db.selectFrom('ports').select('id').execute(), before);
  });
});
