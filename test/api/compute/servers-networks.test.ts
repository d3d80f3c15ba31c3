/**
 * POST /servers `networks` with Nova's rules, and the addresses the server then shows (body, /ips, the
 * ip filter). The conductor's allocation is run directly (the harness records casts rather than
 * delivering them), as the conductor would on the chosen host.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { allocateForHost } from '../../../src/conductor/network-allocation.ts';
import { instanceNics } from '../../../src/objects/instance-networks.ts';
import { quotaUsage } from '../../../src/network/quotas.ts';
import { createTestNetwork, createTestPort, type TestNetwork } from '../../helpers/networks.ts';
import {
  addComputeHost,
  client,
  countRows,
  fault,
  PROJECT_A,
  PROJECT_B,
  startComputeApi,
  type Harness,
} from './helpers.ts';

let h: Harness;
let privateNet: TestNetwork;
before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'host1');
  privateNet = await createTestNetwork(h.database.db, { projectId: PROJECT_A, name: 'private', prefix: '10.20.0' });
});
after(async () => {
  await h.close();
});
beforeEach(() => {
  h.transport.casts.length = 0;
});

const body = (server: Record<string, unknown>) => ({
  server: { name: 'web', imageRef: h.cirros.id, flavorRef: '1', ...server },
});

async function create(server: Record<string, unknown>, version = '2.37', who: 'alice' | 'bob' | 'admin' = 'alice') {
  return client(h.app, who, version).post('/v2.1/servers', body(server));
}

/** Runs the conductor's allocation for the server on host1, as the build does. */
async function allocate(uuid: string, project = PROJECT_A) {
  return (
    await allocateForHost(h.database.db, { uuid, project_id: project, availability_zone: 'nova' }, 'host1', 'expanded')
  ).networkInfo;
}

describe('POST /servers networks', () => {
  it('records a NIC per listed network with its fixed IP and tag (2.42)', async () => {
    const res = await create(
      { networks: [{ uuid: privateNet.id, fixed_ip: '10.20.0.50', tag: 'eth0' }, { uuid: privateNet.id }] },
      '2.42',
    );
    assert.equal(res.statusCode, 202, res.body);
    const nics = await instanceNics(h.database.db, res.json().server.id);
    assert.deepEqual(
      nics.map((n) => [n.network_id, n.fixed_ip, n.port_id, n.tag, n.preserve_on_delete]),
      [
        [privateNet.id, '10.20.0.50', null, 'eth0', false],
        [privateNet.id, null, null, null, false],
      ],
    );
  });

  it('takes the project\'s one network for "auto" and for an absent networks before 2.37', async () => {
    for (const [server, version] of [
      [{ networks: 'auto' }, '2.37'],
      [{}, '2.1'],
    ] as const) {
      const res = await create(server, version);
      assert.equal(res.statusCode, 202, res.body);
      const nics = await instanceNics(h.database.db, res.json().server.id);
      assert.deepEqual(
        nics.map((n) => n.network_id),
        [privateNet.id],
      );
    }
  });

  it('records no NIC for "none", and none before 2.37 when the project has no network', async () => {
    const none = await create({ networks: 'none' });
    assert.deepEqual(await instanceNics(h.database.db, none.json().server.id), []);
    const bare = await create({}, '2.1', 'bob');
    assert.equal(bare.statusCode, 202);
    assert.deepEqual(await instanceNics(h.database.db, bare.json().server.id), []);
  });

  it('refuses "auto" with no network to take (no auto-allocated topology)', async () => {
    const res = await create({ networks: 'auto' }, '2.37', 'bob');
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, `Unable to automatically allocate a network for project ${PROJECT_B}`);
  });

  it("refuses bad requests with Nova's codes and messages, and records nothing", async () => {
    const other = await createTestNetwork(h.database.db, { projectId: PROJECT_B, name: 'theirs', prefix: '10.30.0' });
    const theirPort = await createTestPort(h.database.db, PROJECT_B, other.id);
    const usedPort = await createTestPort(h.database.db, PROJECT_A, privateNet.id);
    await h.database.db.updateTable('ports').set({ device_id: 'someone' }).where('id', '=', usedPort).execute();
    const heldPort = await createTestPort(h.database.db, PROJECT_A, privateNet.id, '10.20.0.99');
    const unknown = '6d2ec2a4-5b36-4b2c-a7d4-4e0b4f4a9d3e';
    const cases: [Record<string, unknown>, number, string | RegExp][] = [
      [{ networks: [{ uuid: unknown }] }, 400, `Network ${unknown} could not be found.`],
      [{ networks: [{ uuid: other.id }] }, 400, `Network ${other.id} could not be found.`],
      [{ networks: [{ port: theirPort }] }, 400, `Port id ${theirPort} could not be found.`],
      [{ networks: [{ port: usedPort }] }, 409, `Port ${usedPort} is still in use.`],
      [{ networks: [{ uuid: privateNet.id, fixed_ip: '192.168.9.9' }] }, 400, /is not valid on network/],
      [
        { networks: [{ uuid: privateNet.id, fixed_ip: '10.20.0.99' }] },
        400,
        /^Fixed IP address 10\.20\.0\.99 is already in use/,
      ],
      [
        { networks: [{ uuid: privateNet.id, fixed_ip: '10.20.0.60' }], max_count: 2 },
        400,
        /max_count cannot be greater than 1/,
      ],
      [{ networks: [{ port: heldPort }], max_count: 2 }, 400, /single configured port ID/],
      [{ networks: 'auto', security_groups: [{ name: 'nope' }] }, 400, 'Security group nope not found.'],
    ];
    const before = await countRows(h, 'instances');
    for (const [server, status, message] of cases) {
      const res = await create(server);
      assert.equal(res.statusCode, status, `${JSON.stringify(server)}: ${res.body}`);
      if (typeof message === 'string') assert.equal(fault(res).message, message);
      else assert.match(fault(res).message, message);
    }
    assert.equal(await countRows(h, 'instances'), before);
    assert.equal(h.transport.casts.length, 0);
  });

  it('answers 409 when several networks could be meant', async () => {
    const shared = await createTestNetwork(h.database.db, {
      projectId: PROJECT_B,
      name: 'public-shared',
      prefix: '10.40.0',
      shared: true,
    });
    try {
      const res = await create({}, '2.1');
      assert.equal(res.statusCode, 409);
      assert.equal(fault(res).message, 'Multiple possible networks found, use a Network ID to be more specific.');
      // The admin's project has no network of its own: the shared one is the one.
      const admins = await create({ networks: 'auto' }, '2.37', 'admin');
      assert.equal(admins.statusCode, 202);
      assert.deepEqual(
        (await instanceNics(h.database.db, admins.json().server.id)).map((n) => n.network_id),
        [shared.id],
      );
    } finally {
      await h.database.db.deleteFrom('networks').where('id', '=', shared.id).execute();
    }
  });

  it('lowers max_count to what the port quota leaves, and refuses when not even min_count fits', async () => {
    const project = PROJECT_A;
    const used = await quotaUsage(h.database.db, project, 'port');
    await h.database.db
      .insertInto('network_quotas')
      .values({ project_id: project, resource: 'port', hard_limit: used + 2 })
      .execute();
    try {
      const three = await create({ networks: [{ uuid: privateNet.id }], max_count: 3, return_reservation_id: true });
      assert.equal(three.statusCode, 202);
      const reservation = three.json().reservation_id as string;
      const made = await h.database.db
        .selectFrom('instances')
        .select('uuid')
        .where('reservation_id', '=', reservation)
        .execute();
      assert.equal(made.length, 2, 'the quota leaves room for two ports');
      const tooMany = await create({ networks: [{ uuid: privateNet.id }], min_count: 3, max_count: 3 });
      assert.equal(tooMany.statusCode, 403);
      assert.equal(fault(tooMany).message, 'Maximum number of ports exceeded');
    } finally {
      await h.database.db.deleteFrom('network_quotas').where('project_id', '=', project).execute();
    }
  });
});

describe('addresses of a server', () => {
  it("shows the ports' addresses in the body, /ips, /ips/{label} and the ip filter", async () => {
    const userPort = await createTestPort(h.database.db, PROJECT_A, privateNet.id, '10.20.0.200');
    const res = await create({ networks: [{ uuid: privateNet.id, fixed_ip: '10.20.0.77' }, { port: userPort }] });
    const uuid = res.json().server.id as string;
    const info = await allocate(uuid);
    assert.equal(info.length, 2);
    assert.deepEqual(
      info.map((v) => v.fixed_ips.map((f) => f.ip_address)),
      [['10.20.0.77'], ['10.20.0.200']],
    );
    const macs = info.map((v) => v.mac_address);

    const show = await client(h.app, 'alice', '2.37').get(`/v2.1/servers/${uuid}`);
    assert.deepEqual(show.json().server.addresses, {
      private: [
        { version: 4, addr: '10.20.0.77', 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': macs[0] },
        { version: 4, addr: '10.20.0.200', 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': macs[1] },
      ],
    });
    const ips = await client(h.app, 'alice').get(`/v2.1/servers/${uuid}/ips`);
    assert.deepEqual(ips.json(), {
      addresses: {
        private: [
          { version: 4, addr: '10.20.0.77' },
          { version: 4, addr: '10.20.0.200' },
        ],
      },
    });
    const one = await client(h.app, 'alice').get(`/v2.1/servers/${uuid}/ips/private`);
    assert.deepEqual(one.json(), { private: ips.json().addresses.private });
    const missing = await client(h.app, 'alice').get(`/v2.1/servers/${uuid}/ips/public`);
    assert.equal(missing.statusCode, 404);
    assert.equal(fault(missing).message, 'Instance is not a member of specified network');

    const byIp = await client(h.app, 'alice').get('/v2.1/servers?ip=10.20.0.7');
    assert.deepEqual(
      byIp.json().servers.map((s: { id: string }) => s.id),
      [uuid],
    );
    const noMatch = await client(h.app, 'alice').get('/v2.1/servers?ip=10.99.');
    assert.deepEqual(noMatch.json().servers, []);
    const detail = await client(h.app, 'alice').get(`/v2.1/servers/detail?ip=10.20.0.200`);
    assert.deepEqual(detail.json().servers[0].addresses, show.json().server.addresses);
  });

  it('shows a floating IP after the fixed address it maps to, as Nova does', async () => {
    const external = await createTestNetwork(h.database.db, {
      projectId: PROJECT_B,
      name: 'public',
      prefix: '198.51.100',
      external: true,
    });
    const res = await create({ networks: [{ uuid: privateNet.id }] });
    const uuid = res.json().server.id as string;
    const [vif] = await allocate(uuid);
    const floatingPort = await createTestPort(h.database.db, PROJECT_A, external.id, '198.51.100.20');
    const stamp = new Date().toISOString();
    await h.database.db
      .insertInto('floating_ips')
      .values({
        id: randomUUID(),
        project_id: PROJECT_A,
        floating_ip_address: '198.51.100.20',
        floating_network_id: external.id,
        floating_port_id: floatingPort,
        fixed_port_id: vif!.id,
        fixed_ip_address: vif!.fixed_ips[0]!.ip_address,
        router_id: null,
        status: 'ACTIVE',
        description: '',
        revision_number: 1,
        created_at: stamp,
        updated_at: stamp,
      })
      .execute();
    const show = await client(h.app, 'alice').get(`/v2.1/servers/${uuid}`);
    assert.deepEqual(show.json().server.addresses, {
      private: [
        {
          version: 4,
          addr: vif!.fixed_ips[0]!.ip_address,
          'OS-EXT-IPS:type': 'fixed',
          'OS-EXT-IPS-MAC:mac_addr': vif!.mac_address,
        },
        {
          version: 4,
          addr: '198.51.100.20',
          'OS-EXT-IPS:type': 'floating',
          'OS-EXT-IPS-MAC:mac_addr': vif!.mac_address,
        },
      ],
    });
    const info = await allocate(uuid);
    assert.equal(info[0]!.floating_ips[0]!.floating_ip_address, '198.51.100.20');
    assert.equal(info[0]!.floating_ips[0]!.floating_network.external, true);
  });

  it("binds the ports to the host with Nova's device owner, and re-binds them on a reschedule", async () => {
    const res = await create({ networks: [{ uuid: privateNet.id }] });
    const uuid = res.json().server.id as string;
    await allocate(uuid);
    const [nic] = await instanceNics(h.database.db, uuid);
    const port = await h.database.db
      .selectFrom('ports')
      .selectAll()
      .where('id', '=', nic!.port_id!)
      .executeTakeFirstOrThrow();
    assert.deepEqual([port.device_id, port.device_owner, port.binding_host_id], [uuid, 'compute:nova', 'host1']);
    await allocateForHost(
      h.database.db,
      { uuid, project_id: PROJECT_A, availability_zone: 'nova' },
      'host2',
      'expanded',
    );
    const ports = await h.database.db.selectFrom('ports').selectAll().where('device_id', '=', uuid).execute();
    assert.deepEqual(
      ports.map((p) => p.binding_host_id),
      ['host2'],
      'the same port, bound to the next host',
    );
  });
});
