/**
 * Ports' status through whole builds on the in-process cloud (two fake hosts): a server's ports are
 * DOWN until its host reports the guest running, then ACTIVE; a port bound to another host is DOWN
 * again until that host reports; a stopped guest keeps its ports up (its taps stay); delete leaves the
 * user's port unbound and DOWN. The conductor's report handling (conductor/port-status-reports.ts) and
 * the rebind rule (network/ports.ts) together.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { bindPort } from '../../src/network/server-ports.ts';
import { serverPortsUp } from '../../src/network/port-status.ts';
import { instancePayload } from '../../src/objects/instance-payload.ts';
import { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { createTestNetwork, createTestPort, type TestNetwork } from '../helpers/networks.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';
import { waitUntil } from '../helpers/processes.ts';

describe('port status from the hosts’ reports', () => {
  let cloud: TestCloud;
  let network: TestNetwork;
  before(async () => {
    cloud = await startTestCloud({ computeHosts: ['status-a', 'status-b'] });
    network = await createTestNetwork(cloud.database.db, { projectId: 'p1', name: 'status', prefix: '10.51.0' });
  });
  after(() => cloud.stop());

  const statusOf = async (portId: string) =>
    (await cloud.database.db.selectFrom('ports').select('status').where('id', '=', portId).executeTakeFirstOrThrow())
      .status;

  it('is ACTIVE once the guest runs on its host, DOWN when bound elsewhere or unbound', async () => {
    const db = cloud.database.db;
    const flavor = await smallFlavor(cloud.database, 'm1.status');
    const userPort = await createTestPort(db, 'p1', network.id);
    assert.equal(await statusOf(userPort), 'DOWN', 'a new, unbound port is down');
    const [uuid] = await cloud.boot(flavor, 1, 'status-vm', {
      nics: [
        { network_id: null, fixed_ip: null, port_id: userPort, tag: null, security_groups: [] },
        { network_id: network.id, fixed_ip: null, port_id: null, tag: null, security_groups: ['default'] },
      ],
    });
    const instance = await cloud.waitFor(uuid!, (i) => i.vm_state === 'active' && i.task_state === null);
    const ports = await db.selectFrom('ports').select('id').where('device_id', '=', uuid!).execute();
    assert.equal(ports.length, 2);
    // The report marks them right after the state change it carries.
    for (const { id } of ports) await waitUntil(`port ${id} ACTIVE`, async () => (await statusOf(id)) === 'ACTIVE');
    const revision = async () =>
      (await db.selectFrom('ports').select('revision_number').where('id', '=', userPort).executeTakeFirstOrThrow())
        .revision_number;
    const before = await revision();
    assert.equal(await serverPortsUp(db, uuid!), 0, 'a repeated report changes nothing');
    assert.equal(await revision(), before);

    // Stopped, the guest keeps its taps: its ports stay up.
    const compute = new ComputeRpcApi(cloud.bus.rpc);
    const ctx = adminContext();
    // As the API does before the cast: the task the host expects.
    await db.updateTable('instances').set({ task_state: 'powering-off' }).where('uuid', '=', uuid!).execute();
    await compute.stopInstance(ctx, instance.host!, instancePayload(instance));
    await cloud.waitFor(uuid!, (i) => i.vm_state === 'stopped');
    assert.equal(await statusOf(userPort), 'ACTIVE');

    // Bound to the other host (as a move binds it before the destination plugs it): down, and a report
    // about the guest on its present host does not mark it.
    const other = instance.host === 'status-a' ? 'status-b' : 'status-a';
    await bindPort(db, userPort, { deviceId: uuid!, deviceOwner: 'compute:nova', hostId: other });
    assert.equal(await statusOf(userPort), 'DOWN');
    assert.equal(await serverPortsUp(db, uuid!), 0);
    await bindPort(db, userPort, { deviceId: uuid!, deviceOwner: 'compute:nova', hostId: instance.host! });
    assert.equal(await serverPortsUp(db, uuid!, [userPort]), 1);
    assert.equal(await statusOf(userPort), 'ACTIVE');

    await compute.terminateInstance(ctx, instance.host!, instancePayload(instance));
    await cloud.waitFor(uuid!, (i) => Boolean(i.deleted));
    const kept = await db.selectFrom('ports').selectAll().where('id', '=', userPort).executeTakeFirstOrThrow();
    assert.deepEqual([kept.device_id, kept.binding_host_id, kept.status], ['', '', 'DOWN']);
  });
});
