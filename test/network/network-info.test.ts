/**
 * A new port's NetworkInfo made from what its create wrote (networkInfoOfAddedPorts, the conductor's
 * build path) is the one read back from the tables (buildNetworkInfo), on every engine: two subnets
 * with several pools, DNS servers and host routes, the default group's rules both named and expanded.
 * And a server port asking only for `default` gets the project's group, or none on a network without
 * port security, as Nova's ports do.
 */
import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { buildNetworkInfo, networkInfoOfAddedPorts } from '../../src/network/network-info.ts';
import { createNetwork } from '../../src/network/networks.ts';
import { createInstancePort } from '../../src/network/server-ports.ts';
import { createSubnet } from '../../src/network/subnets.ts';
import { describeOnEachEngine } from '../helpers/database.ts';

const PROJECT = 'p-netinfo';
const binding = (n: number) => ({ deviceId: `server-${n}`, deviceOwner: 'compute:nova', hostId: 'host-1' });

describeOnEachEngine('NetworkInfo of new ports', (database) => {
  it('is the same made from the create as read back', async () => {
    const db = database().db;
    const ctx = { ...adminContext(), projectId: PROJECT };
    const network = await createNetwork(db, { project_id: PROJECT, name: 'info' });
    // Created in this order, so Neutron's subnet order (by creation) puts the second v4 subnet last.
    await createSubnet(db, ctx, {
      project_id: PROJECT,
      network_id: network.id,
      ip_version: 4,
      cidr: '10.61.0.0/24',
      allocation_pools: [
        { start: '10.61.0.200', end: '10.61.0.210' },
        { start: '10.61.0.20', end: '10.61.0.30' },
      ],
      dns_nameservers: ['10.61.0.53', '10.61.0.54'],
      host_routes: [{ destination: '192.0.2.0/24', nexthop: '10.61.0.254' }],
    });
    await createSubnet(db, ctx, { project_id: PROJECT, network_id: network.id, ip_version: 6, cidr: 'fd61::/64' });
    await createSubnet(db, ctx, { project_id: PROJECT, network_id: network.id, ip_version: 4, cidr: '10.62.0.0/24' });

    const added = await Promise.all(
      [1, 2, 3].map((n) =>
        createInstancePort(
          db,
          { projectId: PROJECT, networkId: network.id, fixedIp: null, securityGroups: ['default'] },
          binding(n),
        ),
      ),
    );
    for (const port of added) {
      assert.equal(port.fixedIps.length, 2, 'one v4 and one v6 address');
      // From the pools of the first v4 subnet.
      assert.match(port.fixedIps[0]!.ip_address, /^10\.61\.0\.(2\d|30|20\d|210)$/);
      assert.match(port.fixedIps[1]!.ip_address, /^fd61::/);
      assert.equal(port.securityGroups.length, 1);
    }
    const ids = added.map((p) => p.row.id);
    for (const remoteGroups of ['named', 'expanded'] as const) {
      const made = await networkInfoOfAddedPorts(db, added, { remoteGroups });
      const read = await buildNetworkInfo(db, ids, { remoteGroups });
      assert.deepEqual(made, read, `the same with remote groups ${remoteGroups}`);
    }
    const [vif] = await networkInfoOfAddedPorts(db, added.slice(0, 1));
    assert.deepEqual(
      vif!.network.subnets.map((s) => [s.cidr, s.dns_nameservers, s.host_routes]),
      [
        ['10.61.0.0/24', ['10.61.0.53', '10.61.0.54'], [{ destination: '192.0.2.0/24', nexthop: '10.61.0.254' }]],
        ['fd61::/64', [], []],
        ['10.62.0.0/24', [], []],
      ],
    );
    assert.equal(vif!.security_group_rules.length, 4, "the default group's four rules");
  });

  it('gives a port asking for `default` alone no group on a network without port security', async () => {
    const db = database().db;
    const ctx = { ...adminContext(), projectId: PROJECT };
    const network = await createNetwork(db, { project_id: PROJECT, name: 'open', port_security_enabled: false });
    await createSubnet(db, ctx, { project_id: PROJECT, network_id: network.id, ip_version: 4, cidr: '10.63.0.0/24' });
    const port = await createInstancePort(
      db,
      { projectId: PROJECT, networkId: network.id, fixedIp: null, securityGroups: ['default'] },
      binding(9),
    );
    assert.deepEqual(port.securityGroups, []);
    const bindings = await db
      .selectFrom('security_group_port_bindings')
      .select('security_group_id')
      .where('port_id', '=', port.row.id)
      .execute();
    assert.deepEqual(bindings, []);
    const [vif] = await networkInfoOfAddedPorts(db, [port]);
    assert.equal(vif!.port_security_enabled, false);
  });
});
