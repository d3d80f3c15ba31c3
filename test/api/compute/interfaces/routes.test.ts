/**
 * os-interface against a compute host on an in-process bus with the fake driver: list, show, attach (a
 * network, a fixed IP, the user's port) and detach, the guest's NICs following, Nova's states, codes
 * and messages, and the port taken back when the host refuses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allocateForHost } from '../../../../src/conductor/network-allocation.ts';
import { quotaUsage, setQuotaLimits } from '../../../../src/network/quotas.ts';
import type { FakeDriver } from '../../../../src/compute/virt/fake/fake-driver.ts';
import { recordNicRequests } from '../../../../src/objects/instance-networks.ts';
import { instancePayload } from '../../../../src/objects/instance-payload.ts';
import type { Instance } from '../../../../src/objects/instances.ts';
import { PowerState, VmState } from '../../../../src/wire/messages/instance-states.ts';
import { countPorts, createTestNetwork, createTestPort, type TestNetwork } from '../../../helpers/networks.ts';
import { client, fault, PROJECT_A, PROJECT_B, seedServer, type Harness } from '../helpers.ts';
import { startApiWithFakeHost, type ApiWithFakeHost } from '../api-with-fake-host.ts';

let h: Harness;
let driver: FakeDriver;
let host: ApiWithFakeHost;
let net: TestNetwork;

before(async () => {
  host = await startApiWithFakeHost();
  ({ h, driver } = host);
  net = await createTestNetwork(h.database.db, { projectId: PROJECT_A, name: 'private', prefix: '10.60.0' });
});

after(() => host.close());

/** A running server with one NIC on `net`, built as the conductor and compute would. */
async function runningServer(): Promise<Instance> {
  const instance = await seedServer(h, {
    host: 'host1',
    state: { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING, launched_at: new Date().toISOString() },
  });
  await recordNicRequests(h.database.db, instance.uuid, [
    { network_id: net.id, fixed_ip: null, port_id: null, tag: 'boot', security_groups: ['default'] },
  ]);
  const { networkInfo: info } = await allocateForHost(
    h.database.db,
    { uuid: instance.uuid, project_id: PROJECT_A, availability_zone: 'nova' },
    'host1',
    'expanded',
  );
  await driver.spawn(instancePayload(instance), 'host1', info);
  return instance;
}

const path = (uuid: string, port = '') => `/v2.1/servers/${uuid}/os-interface${port ? `/${port}` : ''}`;

describe('os-interface', () => {
  it("lists and shows the server's ports, with the tag from 2.70", async () => {
    const instance = await runningServer();
    const list = await client(h.app, 'alice').get(path(instance.uuid));
    assert.equal(list.statusCode, 200);
    const [attachment] = list.json().interfaceAttachments;
    assert.equal(attachment.net_id, net.id);
    // The port's status as the network service keeps it (a datapath reports ACTIVE once it plugs it).
    const row = await h.database.db
      .selectFrom('ports')
      .select('status')
      .where('id', '=', attachment.port_id)
      .executeTakeFirstOrThrow();
    assert.equal(attachment.port_state, row.status);
    assert.match(attachment.fixed_ips[0].ip_address, /^10\.60\.0\.\d+$/);
    assert.equal(attachment.fixed_ips[0].subnet_id, net.subnetId);
    assert.equal(attachment.mac_addr, driver.interfacesOf(instance.uuid)[0]!.mac_address);
    assert.equal('tag' in attachment, false);
    const shown = await client(h.app, 'alice', '2.70').get(path(instance.uuid, attachment.port_id));
    assert.deepEqual(shown.json().interfaceAttachment, { ...attachment, tag: 'boot' });
    const other = await createTestPort(h.database.db, PROJECT_A, net.id);
    const notHis = await client(h.app, 'alice').get(path(instance.uuid, other));
    assert.equal(notHis.statusCode, 404);
    assert.equal(fault(notHis).message, `Instance ${instance.uuid} does not have a port with id ${other}`);
    assert.equal((await client(h.app, 'bob').get(path(instance.uuid))).statusCode, 404);
  });

  it('attaches a port on a network with a fixed IP, and detaches it: the port is gone', async () => {
    const instance = await runningServer();
    const ports = await countPorts(h.database.db);
    const res = await client(h.app, 'alice', '2.49').post(path(instance.uuid), {
      interfaceAttachment: { net_id: net.id, fixed_ips: [{ ip_address: '10.60.0.150' }], tag: 'extra' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const attached = res.json().interfaceAttachment;
    assert.deepEqual(attached.fixed_ips, [{ subnet_id: net.subnetId, ip_address: '10.60.0.150' }]);
    assert.deepEqual(
      driver.interfacesOf(instance.uuid).map((v) => v.id),
      [driver.interfacesOf(instance.uuid)[0]!.id, attached.port_id],
      'the guest has the new NIC after its first',
    );
    const shown = await client(h.app, 'alice').get(`/v2.1/servers/${instance.uuid}`);
    assert.deepEqual(
      shown
        .json()
        .server.addresses.private.map((a: { addr: string }) => a.addr)
        .slice(1),
      ['10.60.0.150'],
    );
    const taken = await client(h.app, 'alice').post(path(instance.uuid), {
      interfaceAttachment: { net_id: net.id, fixed_ips: [{ ip_address: '10.60.0.150' }] },
    });
    assert.equal(taken.statusCode, 409);
    assert.equal(fault(taken).message, `Fixed IP address 10.60.0.150 is already in use on instance ${instance.uuid}.`);

    const detached = await client(h.app, 'alice').delete(path(instance.uuid, attached.port_id));
    assert.equal(detached.statusCode, 202);
    assert.equal(driver.interfacesOf(instance.uuid).length, 1);
    assert.equal(await countPorts(h.database.db), ports, 'the port made for the attach is deleted');
    const again = await client(h.app, 'alice').delete(path(instance.uuid, attached.port_id));
    assert.equal(again.statusCode, 404);
  });

  it("attaches the user's port and only unbinds it on detach", async () => {
    const instance = await runningServer();
    const port = await createTestPort(h.database.db, PROJECT_A, net.id);
    const res = await client(h.app, 'alice').post(path(instance.uuid), { interfaceAttachment: { port_id: port } });
    assert.equal(res.statusCode, 200, res.body);
    const row = await h.database.db.selectFrom('ports').selectAll().where('id', '=', port).executeTakeFirstOrThrow();
    assert.deepEqual([row.device_id, row.binding_host_id], [instance.uuid, 'host1']);
    const inUse = await client(h.app, 'alice').post(path((await runningServer()).uuid), {
      interfaceAttachment: { port_id: port },
    });
    assert.equal(inUse.statusCode, 409);
    assert.equal(fault(inUse).message, `Port ${port} is still in use.`);
    assert.equal((await client(h.app, 'alice').delete(path(instance.uuid, port))).statusCode, 202);
    const after = await h.database.db.selectFrom('ports').selectAll().where('id', '=', port).executeTakeFirstOrThrow();
    assert.deepEqual([after.device_id, after.device_owner, after.binding_host_id], ['', '', '']);
  });

  it("refuses a new port beyond the project's port quota with Nova's 403; the user's port still attaches", async () => {
    const instance = await runningServer();
    const mine = await createTestPort(h.database.db, PROJECT_A, net.id);
    const used = await quotaUsage(h.database.db, PROJECT_A, 'port');
    await setQuotaLimits(h.database.db, PROJECT_A, { port: used });
    try {
      const ports = await countPorts(h.database.db);
      const full = await client(h.app, 'alice').post(path(instance.uuid), { interfaceAttachment: { net_id: net.id } });
      assert.equal(full.statusCode, 403, full.body);
      assert.equal(fault(full).message, 'Maximum number of ports exceeded');
      assert.equal(await countPorts(h.database.db), ports, 'no port made');
      const theirs = await client(h.app, 'alice').post(path(instance.uuid), { interfaceAttachment: { port_id: mine } });
      assert.equal(theirs.statusCode, 200, 'an existing port needs no quota');

      await setQuotaLimits(h.database.db, PROJECT_A, { port: used + 1 });
      const fits = await client(h.app, 'alice').post(path(instance.uuid), { interfaceAttachment: { net_id: net.id } });
      assert.equal(fits.statusCode, 200, fits.body);
    } finally {
      await setQuotaLimits(h.database.db, PROJECT_A, { port: -1 });
    }
  });

  it("refuses with Nova's codes, and takes the port back when the host refuses", async () => {
    const instance = await runningServer();
    const theirs = await createTestNetwork(h.database.db, { projectId: PROJECT_B, name: 'b', prefix: '10.61.0' });
    const unknown = '3f0c9a36-1f70-4a8e-bb0e-8e9d8b4ad2a1';
    const cases: [unknown, number, string][] = [
      [
        { interfaceAttachment: { net_id: net.id, port_id: unknown } },
        400,
        'Must not input both network_id and port_id',
      ],
      [
        { interfaceAttachment: { fixed_ips: [{ ip_address: '10.60.0.9' }] } },
        400,
        'Must input network_id when request IP address',
      ],
      [{ interfaceAttachment: { net_id: theirs.id } }, 404, `Network ${theirs.id} could not be found.`],
      [{ interfaceAttachment: { port_id: unknown } }, 404, `Port id ${unknown} could not be found.`],
    ];
    const ports = await countPorts(h.database.db);
    for (const [body, status, message] of cases) {
      const res = await client(h.app, 'alice').post(path(instance.uuid), body);
      assert.equal(res.statusCode, status, JSON.stringify(body));
      assert.equal(fault(res).message, message);
    }
    await driver.suspend(instance.uuid);
    const refused = await client(h.app, 'alice').post(path(instance.uuid), { interfaceAttachment: { net_id: net.id } });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(await countPorts(h.database.db), ports, 'nothing made is left behind');

    const building = await seedServer(h, { host: 'host1', state: { vm_state: VmState.BUILDING } });
    const early = await client(h.app, 'alice').post(path(building.uuid), { interfaceAttachment: { net_id: net.id } });
    assert.equal(early.statusCode, 409);
    assert.equal(
      fault(early).message,
      `Cannot 'attach_interface' instance ${building.uuid} while it is in vm_state building`,
    );
  });
});
