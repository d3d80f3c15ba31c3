/**
 * A port's effective rules as its NetworkInfo carries them to the datapath: its groups' rules, remote
 * prefixes as given, and remote groups expanded to the member ports' addresses of the rule's family,
 * allowed address pairs included; or, for hosts of compute 1.14 (which keep each group's members), the
 * remote group named by id alone, its members asked for once per group.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { now } from '../../src/common/db/schema.ts';
import { createSecurityGroupRule } from '../../src/network/security-group-rules.ts';
import { buildNetworkInfo, remoteGroupsFor } from '../../src/network/network-info.ts';
import { groupMembers } from '../../src/network/security-group-port-rules.ts';
import { RpcClient } from '../../src/common/rpc/index.ts';
import { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { RecordingTransport } from '../helpers/recording-transport.ts';
import { createSecurityGroup } from '../../src/network/security-groups.ts';
import { VifSecurityRuleSchema } from '../../src/wire/messages/network-info.ts';
import { Compile } from 'typebox/compile';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createTestNetwork, type TestNetwork } from '../helpers/networks.ts';

const PROJECT = 'pppppppppppppppppppppppppppppppp';

describe('security group rules in NetworkInfo', () => {
  let database: TestDatabase;
  let net: TestNetwork;
  before(async () => {
    database = await openTestDatabase();
    net = await createTestNetwork(database.db, { projectId: PROJECT, name: 'rules', prefix: '10.0.0' });
  });

  /** The rules the port's host is sent. */
  async function rulesSent(portId: string, compute?: ComputeRpcApi) {
    const options = compute ? { remoteGroups: await remoteGroupsFor(compute) } : {};
    const [vif] = await buildNetworkInfo(database.db, [portId], options);
    assert.ok(vif, 'the port has a VIF');
    return vif.security_group_rules;
  }
  after(() => database.close());

  async function port(id: string, addresses: string[], groups: string[], pairs: string[] = []) {
    const at = now();
    await database.db
      .insertInto('ports')
      .values({
        id,
        project_id: PROJECT,
        network_id: net.id,
        name: '',
        description: '',
        mac_address: `fa:16:3e:00:00:${id.slice(-2)}`,
        admin_state_up: 1,
        status: 'ACTIVE',
        device_id: '',
        device_owner: 'compute:nova',
        port_security_enabled: 1,
        binding_host_id: '',
        binding_vif_type: 'unbound',
        binding_vnic_type: 'normal',
        binding_profile: '{}',
        binding_vif_details: '{}',
        revision_number: 0,
        created_at: at,
        updated_at: at,
      })
      .execute();
    for (const ip_address of addresses) {
      await database.db
        .insertInto('ip_allocations')
        .values({ network_id: net.id, ip_address, subnet_id: net.subnetId, port_id: id })
        .execute();
    }
    for (const ip_address of pairs) {
      await database.db
        .insertInto('port_allowed_address_pairs')
        .values({ port_id: id, mac_address: 'fa:16:3e:00:00:99', ip_address })
        .execute();
    }
    for (const security_group_id of groups) {
      await database.db.insertInto('security_group_port_bindings').values({ port_id: id, security_group_id }).execute();
    }
  }

  it('expands remote groups to member addresses and keeps prefixes', async () => {
    const ctx = adminContext();
    const web = await createSecurityGroup(database.db, ctx, { project_id: PROJECT, name: 'web' });
    const db = await createSecurityGroup(database.db, ctx, { project_id: PROJECT, name: 'db' });
    await createSecurityGroupRule(database.db, ctx, {
      project_id: PROJECT,
      security_group_id: db.id,
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 5432,
      port_range_max: 5432,
      remote_group_id: web.id,
    });
    await createSecurityGroupRule(database.db, ctx, {
      project_id: PROJECT,
      security_group_id: db.id,
      direction: 'ingress',
      ethertype: 'IPv6',
      protocol: 'tcp',
      port_range_min: 5432,
      port_range_max: 5432,
      remote_group_id: web.id,
    });
    await createSecurityGroupRule(database.db, ctx, {
      project_id: PROJECT,
      security_group_id: db.id,
      direction: 'ingress',
      protocol: 'icmp',
      remote_ip_prefix: '192.0.2.0/24',
    });
    await port('port-web-01', ['10.0.0.5', '2001:db8::5'], [web.id], ['10.0.9.0/24']);
    await port('port-web-02', ['10.0.0.6'], [web.id]);
    await port('port-db-003', ['10.0.0.9'], [db.id]);
    await port('port-none04', ['10.0.0.10'], []);

    const rules = await rulesSent('port-db-003');
    const describe = rules.map(
      (r) => `${r.direction} ${r.ethertype} ${r.protocol} ${r.port_range_min} ${JSON.stringify(r.remote_prefixes)}`,
    );
    assert.deepEqual(describe.sort(), [
      'egress IPv4 null null null',
      'egress IPv6 null null null',
      'ingress IPv4 icmp null ["192.0.2.0/24"]',
      'ingress IPv4 tcp 5432 ["10.0.0.5/32","10.0.0.6/32","10.0.9.0/24"]',
      'ingress IPv6 tcp 5432 ["2001:db8::5/128"]',
    ]);
    // The shape is the wire's: every rule validates against the datapath's schema.
    const check = Compile(VifSecurityRuleSchema);
    assert.ok(rules.every((r) => check.Check(r)));
    assert.deepEqual(await rulesSent('port-none04'), []);
  });

  it("names remote groups by id for 1.14 hosts, expands them for 1.13 ones, and answers each group's members", async () => {
    const ctx = adminContext();
    const app = await createSecurityGroup(database.db, ctx, { project_id: PROJECT, name: 'app' });
    const cache = await createSecurityGroup(database.db, ctx, { project_id: PROJECT, name: 'cache' });
    await createSecurityGroupRule(database.db, ctx, {
      project_id: PROJECT,
      security_group_id: cache.id,
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 6379,
      port_range_max: 6379,
      remote_group_id: app.id,
    });
    await port('port-app-011', ['10.0.0.11'], [app.id]);
    await port('port-app-012', ['10.0.0.12'], [app.id]);
    await port('port-cch-013', ['10.0.0.13'], [cache.id]);
    const hosts = (cap: '1.13' | '1.14') =>
      new ComputeRpcApi(new RpcClient(new RecordingTransport(), { responseTimeoutMs: 100 }), cap);

    const named = (await rulesSent('port-cch-013', hosts('1.14'))).filter((r) => r.protocol === 'tcp');
    assert.deepEqual(named, [
      {
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'tcp',
        port_range_min: 6379,
        port_range_max: 6379,
        remote_group_id: app.id,
      },
    ]);
    assert.ok(Compile(VifSecurityRuleSchema).Check(named[0]));
    const expanded = (await rulesSent('port-cch-013', hosts('1.13'))).filter((r) => r.protocol === 'tcp');
    assert.deepEqual(
      expanded.map((r) => [r.remote_group_id, r.remote_prefixes]),
      [[app.id, ['10.0.0.11/32', '10.0.0.12/32']]],
    );
    // What a host without the group's set is answered (conductor 1.9): one entry per id asked, in order.
    assert.deepEqual(await groupMembers(database.db, ['no-such-group', app.id]), [
      { id: 'no-such-group', ipv4: [], ipv6: [] },
      { id: app.id, ipv4: ['10.0.0.11/32', '10.0.0.12/32'], ipv6: [] },
    ]);
  });
});
