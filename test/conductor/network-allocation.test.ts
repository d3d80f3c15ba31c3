/**
 * The conductor's port allocation through whole builds on the in-process cloud: ports made and bound
 * on the host the server lands on (after reschedules caused by injected spawn failures), released when
 * a build ends in ERROR and when servers are deleted. A storm of creates and deletes leaves no port
 * behind but the user's own, unbound. Builds name their remote groups without members (compute 1.14):
 * the hosts get each group's members from the conductor (conductor 1.9 security_group_members) and the
 * member rounds.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { adminContext } from '../../src/common/context.ts';
import { UnsupportedRpcVersion } from '../../src/common/rpc/index.ts';
import { ConductorRpcApi } from '../../src/wire/contracts/conductor.ts';
import { instancePayload } from '../../src/objects/instance-payload.ts';
import { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { countPorts, createTestNetwork, createTestPort, type TestNetwork } from '../helpers/networks.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';

const settled = (i: { vm_state: string; task_state: string | null }) =>
  i.task_state === null && ['active', 'error'].includes(i.vm_state);

describe('network allocation in the build flow', () => {
  let cloud: TestCloud;
  let network: TestNetwork;
  before(async () => {
    cloud = await startTestCloud({
      computeHosts: ['net-a', 'net-b', 'net-c'],
      overrides: { fake_driver: { spawn_failure_rate: '0.4' } },
    });
    network = await createTestNetwork(cloud.database.db, { projectId: 'p1', name: 'storm', prefix: '10.50.0' });
  });
  after(() => cloud.stop());

  it('leaves no port behind after a storm of creates (some failing) and deletes', async () => {
    const db = cloud.database.db;
    const flavor = await smallFlavor(cloud.database, 'm1.storm');
    const userPorts = await Promise.all(Array.from({ length: 4 }, () => createTestPort(db, 'p1', network.id)));
    const portsBefore = await countPorts(db);
    const nic = { network_id: network.id, fixed_ip: null, port_id: null, tag: null, security_groups: ['default'] };
    const batches = await Promise.all([
      cloud.boot(flavor, 8, 'two-nics', { nics: [nic, nic] }),
      cloud.boot(flavor, 8, 'one-nic', { nics: [nic] }),
      ...userPorts.map((port) =>
        cloud.boot(flavor, 1, 'own-port', {
          nics: [{ network_id: null, fixed_ip: null, port_id: port, tag: null, security_groups: [] }, nic],
        }),
      ),
    ]);
    const uuids = batches.flat();
    const instances = await Promise.all(uuids.map((u) => cloud.waitFor(u, settled, 30_000)));
    const active = instances.filter((i) => i.vm_state === 'active');
    const failed = instances.filter((i) => i.vm_state === 'error');
    assert.ok(active.length > 0, 'some builds succeed');

    for (const instance of instances) {
      const ports = await db.selectFrom('ports').selectAll().where('device_id', '=', instance.uuid).execute();
      if (instance.vm_state === 'error') {
        assert.equal(ports.length, 0, `a failed build keeps no port (${instance.uuid})`);
        continue;
      }
      const expected = instance.display_name.startsWith('two-nics') || instance.display_name === 'own-port' ? 2 : 1;
      assert.equal(ports.length, expected, instance.display_name);
      for (const port of ports) {
        assert.equal(port.binding_host_id, instance.host, 'bound to the host the server landed on');
        assert.equal(port.device_owner, 'compute:nova');
      }
    }
    // Every address handed out once.
    const addresses = await db.selectFrom('ip_allocations').select('ip_address').execute();
    assert.equal(new Set(addresses.map((a) => a.ip_address)).size, addresses.length);

    // Delete the survivors through their compute hosts, as the API does.
    const compute = new ComputeRpcApi(cloud.bus.rpc);
    const ctx = adminContext();
    for (const instance of active) await compute.terminateInstance(ctx, instance.host!, instancePayload(instance));
    for (const instance of active) await cloud.waitFor(instance.uuid, (i) => Boolean(i.deleted), 10_000);

    assert.equal(
      await countPorts(db),
      portsBefore,
      `no leak after ${failed.length} failures and ${active.length} deletes`,
    );
    const kept = await db.selectFrom('ports').selectAll().where('id', 'in', userPorts).execute();
    assert.equal(kept.length, userPorts.length, "the user's ports survive");
    for (const port of kept) assert.deepEqual([port.device_id, port.device_owner, port.binding_host_id], ['', '', '']);
    const leftover = await db.selectFrom('ip_allocations').select('port_id').execute();
    assert.deepEqual(new Set(leftover.map((l) => l.port_id)), new Set(userPorts));
    assert.equal((await db.selectFrom('instance_networks').selectAll().execute()).length, 0);
  });
});

describe('remote group members in the build flow (compute 1.14, conductor 1.9)', () => {
  let cloud: TestCloud;
  before(async () => {
    cloud = await startTestCloud({ computeHosts: ['grp-a', 'grp-b'] });
  });
  after(() => cloud.stop());

  it("each host gets the default group's members from the conductor, and the builds' later members by rounds", async () => {
    const db = cloud.database.db;
    const network = await createTestNetwork(db, { projectId: 'p1', name: 'groups', prefix: '10.51.0' });
    const flavor = await smallFlavor(cloud.database, 'm1.groups');
    const nic = { network_id: network.id, fixed_ip: null, port_id: null, tag: null, security_groups: ['default'] };
    const uuids = await cloud.boot(flavor, 6, 'grouped', { nics: [nic] });
    const instances = await Promise.all(uuids.map((u) => cloud.waitFor(u, settled, 30_000)));
    assert.deepEqual(
      instances.map((i) => i.vm_state),
      uuids.map(() => 'active'),
    );
    const group = await db
      .selectFrom('security_groups')
      .select('id')
      .where('project_id', '=', 'p1')
      .where('name', '=', 'default')
      .executeTakeFirstOrThrow();
    const addresses = (await db.selectFrom('ip_allocations').select('ip_address').execute())
      .map((a) => `${a.ip_address}/32`)
      .sort();
    assert.equal(addresses.length, 6);
    const ctx = adminContext();
    assert.deepEqual(await new ConductorRpcApi(cloud.bus.rpc).securityGroupMembers(ctx, [group.id]), [
      { id: group.id, ipv4: addresses, ipv6: [] },
    ]);
    // Every host with a guest holds the group's whole membership (asked for, then kept by rounds).
    for (const host of new Set(instances.map((i) => i.host!))) {
      const file = join(cloud.config.compute.vif_cache_directory, host, 'groups', `${group.id}.json`);
      let stored: string[] = [];
      for (let waited = 0; waited < 10_000; waited += 100) {
        stored = (JSON.parse(await readFile(file, 'utf8')) as { ipv4: string[] }).ipv4;
        if (stored.length === addresses.length) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(stored, addresses, host);
    }
    // A compute host's client capped below 1.9 does not send the ask to an older conductor.
    await assert.rejects(
      new ConductorRpcApi(cloud.bus.rpc, '1.8').securityGroupMembers(ctx, [group.id]),
      (err: Error) => err instanceof UnsupportedRpcVersion,
    );
  });
});
