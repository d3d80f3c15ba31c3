/**
 * A server's security groups: GET /servers/{id}/os-security-groups in Nova's format, and the
 * addSecurityGroup/removeSecurityGroup actions changing every port of the server, with the host told
 * (network_info_changed) so its firewall follows.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { now } from '../../../src/common/db/schema.ts';
import { allocateForHost } from '../../../src/conductor/network-allocation.ts';
import { ensureDefaultSecurityGroup } from '../../../src/network/default-security-group.ts';
import { recordNicRequests } from '../../../src/objects/instance-networks.ts';
import { PowerState, VmState } from '../../../src/wire/messages/instance-states.ts';
import { createTestNetwork, type TestNetwork } from '../../helpers/networks.ts';
import { client, fault, PROJECT_A, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
let net: TestNetwork;
before(async () => {
  h = await startComputeApi();
  net = await createTestNetwork(h.database.db, { projectId: PROJECT_A, name: 'private', prefix: '10.70.0' });
});
after(async () => {
  await h.close();
});
beforeEach(() => {
  h.transport.casts.length = 0;
});

async function webGroup(name: string): Promise<string> {
  const id = randomUUID();
  const stamp = now();
  await h.database.db
    .insertInto('security_groups')
    .values({
      id,
      project_id: PROJECT_A,
      name,
      description: 'web',
      stateful: 1,
      revision_number: 1,
      created_at: stamp,
      updated_at: stamp,
    })
    .execute();
  await h.database.db
    .insertInto('security_group_rules')
    .values({
      id: randomUUID(),
      project_id: PROJECT_A,
      security_group_id: id,
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'tcp',
      port_range_min: 80,
      port_range_max: 80,
      remote_ip_prefix: '0.0.0.0/0',
      remote_group_id: null,
      remote_address_group_id: null,
      description: '',
      revision_number: 1,
      created_at: stamp,
      updated_at: stamp,
    })
    .execute();
  return id;
}

async function serverWithTwoNics() {
  const instance = await seedServer(h, {
    host: 'host1',
    state: { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING, launched_at: new Date().toISOString() },
  });
  const nic = { network_id: net.id, fixed_ip: null, port_id: null, tag: null, security_groups: ['default'] };
  await recordNicRequests(h.database.db, instance.uuid, [nic, nic]);
  await allocateForHost(
    h.database.db,
    { uuid: instance.uuid, project_id: PROJECT_A, availability_zone: 'nova' },
    'host1',
    'expanded',
  );
  return instance;
}

const groupsPath = (uuid: string) => `/v2.1/servers/${uuid}/os-security-groups`;
const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;

describe('security groups of a server', () => {
  it('lists the default group of its ports, adds and removes a group on every port', async () => {
    const instance = await serverWithTwoNics();
    const defaultId = await ensureDefaultSecurityGroup(h.database.db, PROJECT_A);
    const listed = await client(h.app, 'alice').get(groupsPath(instance.uuid));
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(
      listed.json().security_groups.map((g: { id: string; name: string }) => [g.id, g.name]),
      [[defaultId, 'default']],
    );
    const web = await webGroup('web');
    const added = await client(h.app, 'alice').post(action(instance.uuid), { addSecurityGroup: { name: 'web' } });
    assert.equal(added.statusCode, 202, added.body);
    const after = await client(h.app, 'alice').get(groupsPath(instance.uuid));
    const webView = after.json().security_groups.find((g: { id: string }) => g.id === web);
    assert.deepEqual(
      webView.rules.map((r: Record<string, unknown>) => [
        r['ip_protocol'],
        r['from_port'],
        r['to_port'],
        r['ip_range'],
      ]),
      [['tcp', 80, 80, { cidr: '0.0.0.0/0' }]],
    );
    const bound = await h.database.db
      .selectFrom('security_group_port_bindings as b')
      .innerJoin('ports as p', 'p.id', 'b.port_id')
      .select('p.id')
      .where('p.device_id', '=', instance.uuid)
      .where('b.security_group_id', '=', web)
      .execute();
    assert.equal(bound.length, 2, 'every port of the server has the group');
    const told = h.transport.casts.filter((c) => c.method === 'network_info_changed');
    assert.equal(told.length, 1);
    assert.equal(told[0]!.queue, 'compute.host1');
    assert.equal((told[0]!.args['network_info'] as unknown[]).length, 2);

    const removed = await client(h.app, 'alice').post(action(instance.uuid), { removeSecurityGroup: { name: web } });
    assert.equal(removed.statusCode, 202);
    const again = await client(h.app, 'alice').post(action(instance.uuid), { removeSecurityGroup: { name: 'web' } });
    assert.equal(again.statusCode, 404);
    assert.equal(fault(again).message, `Security group web not associated with the instance ${instance.uuid}`);
  });

  it("refuses with Nova's messages", async () => {
    const instance = await serverWithTwoNics();
    const cases: [unknown, number, string][] = [
      [{ addSecurityGroup: {} }, 400, 'Security group not specified'],
      [{ addSecurityGroup: { name: ' ' } }, 400, 'Security group name cannot be empty'],
      [{ addSecurityGroup: { name: 'nope' } }, 404, `Security group nope is not found for project ${PROJECT_A}`],
    ];
    for (const [body, status, message] of cases) {
      const res = await client(h.app, 'alice').post(action(instance.uuid), body);
      assert.equal(res.statusCode, status, JSON.stringify(body));
      assert.equal(fault(res).message, message);
    }
    const bare = await seedServer(h, { host: 'host1', state: { vm_state: VmState.ACTIVE } });
    await webGroup('web2');
    const noPorts = await client(h.app, 'alice').post(action(bare.uuid), { addSecurityGroup: { name: 'web2' } });
    assert.equal(noPorts.statusCode, 404);
    assert.equal(fault(noPorts).message, `instance_id ${bare.uuid} could not be found as device id on any ports`);
  });
});
