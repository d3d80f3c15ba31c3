/**
 * /v2.0/security-group-rules: create with Neutron's conversions and checks (protocol by name or number,
 * port ranges, ICMP type/code, prefixes and their family, remote groups), duplicates, visibility and
 * delete; bad input changes nothing.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { startNetworkApi, type NetworkApiHarness } from './helpers.ts';

type Rule = Record<string, unknown> & { id: string };

describe('network API: security group rules', () => {
  let api: NetworkApiHarness;
  let group: string;
  let other: string;
  before(async () => {
    api = await startNetworkApi();
    const made = await api.call('alice', 'POST', '/v2.0/security-groups', { security_group: { name: 'rules' } });
    group = (made.body['security_group'] as { id: string }).id;
    const bobs = await api.call('bob', 'POST', '/v2.0/security-groups', { security_group: { name: 'bobs' } });
    other = (bobs.body['security_group'] as { id: string }).id;
  });
  after(() => api.close());

  const create = (rule: Record<string, unknown>, who: 'alice' | 'bob' | 'admin' = 'alice') =>
    api.call(who, 'POST', '/v2.0/security-group-rules', {
      security_group_rule: { security_group_id: group, direction: 'ingress', ...rule },
    });
  const ruleCount = async () =>
    (await api.database.db.selectFrom('security_group_rules').select('id').execute()).length;

  it('creates an SSH rule as the CLI sends it and shows it with every Neutron key', async () => {
    const res = await create({
      protocol: 'tcp',
      port_range_min: 22,
      port_range_max: 22,
      remote_ip_prefix: '0.0.0.0/0',
      ethertype: 'IPv4',
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const rule = res.body['security_group_rule'] as Rule;
    assert.deepEqual(Object.keys(rule).sort(), [
      'created_at',
      'description',
      'direction',
      'ethertype',
      'id',
      'normalized_cidr',
      'port_range_max',
      'port_range_min',
      'project_id',
      'protocol',
      'remote_group_id',
      'remote_ip_prefix',
      'revision_number',
      'security_group_id',
      'tenant_id',
      'updated_at',
    ]);
    assert.deepEqual(
      [
        rule['protocol'],
        rule['port_range_min'],
        rule['port_range_max'],
        rule['remote_ip_prefix'],
        rule['normalized_cidr'],
      ],
      ['tcp', 22, 22, '0.0.0.0/0', '0.0.0.0/0'],
    );
    const shown = await api.call('alice', 'GET', `/v2.0/security-group-rules/${rule.id}`);
    assert.deepEqual(shown.body['security_group_rule'], rule);
    const inGroup = await api.call('alice', 'GET', `/v2.0/security-groups/${group}`);
    const rules = (inGroup.body['security_group'] as { security_group_rules: Rule[] }).security_group_rules;
    assert.ok(rules.some((r) => r.id === rule.id));
  });

  it('refuses a duplicate, however its protocol is spelled', async () => {
    const dup = await create({
      protocol: '6',
      port_range_min: '22',
      port_range_max: 22,
      remote_ip_prefix: '0.0.0.0/0',
    });
    assert.equal(dup.status, 409);
    const error = dup.body['NeutronError'] as { type: string; message: string };
    assert.equal(error.type, 'SecurityGroupRuleExists');
    assert.match(error.message, /^Security group rule already exists\. Rule id is [0-9a-f-]{36}\.$/);
  });

  it('normalises: any protocol, the full port range, prefixes without a length, legacy ICMPv6', async () => {
    const any = await create({ protocol: 'any', ethertype: 'ipv6' });
    assert.equal(any.status, 201);
    assert.deepEqual(
      [(any.body['security_group_rule'] as Rule)['protocol'], (any.body['security_group_rule'] as Rule)['ethertype']],
      [null, 'IPv6'],
    );
    const full = await create({ protocol: 'UDP', port_range_min: 1, port_range_max: 65535 });
    const fullRule = full.body['security_group_rule'] as Rule;
    assert.deepEqual(
      [fullRule['protocol'], fullRule['port_range_min'], fullRule['port_range_max']],
      ['udp', null, null],
    );
    const host = await create({
      protocol: 'tcp',
      port_range_min: 80,
      port_range_max: 80,
      remote_ip_prefix: '10.1.2.3/24',
    });
    const hostRule = host.body['security_group_rule'] as Rule;
    assert.deepEqual([hostRule['remote_ip_prefix'], hostRule['normalized_cidr']], ['10.1.2.3/24', '10.1.2.0/24']);
    const single = await create({
      protocol: 'tcp',
      port_range_min: 81,
      port_range_max: 81,
      remote_ip_prefix: '192.0.2.7',
    });
    assert.equal((single.body['security_group_rule'] as Rule)['remote_ip_prefix'], '192.0.2.7/32');
    const icmp6 = await create({ protocol: 'icmp', ethertype: 'IPv6', port_range_min: 128, port_range_max: 0 });
    assert.equal(icmp6.status, 201, JSON.stringify(icmp6.body));
    assert.equal((icmp6.body['security_group_rule'] as Rule)['protocol'], 'ipv6-icmp');
    const byNumber = await create({ protocol: 47 });
    assert.equal((byNumber.body['security_group_rule'] as Rule)['protocol'], '47');
  });

  it('admits a remote group of its project and refuses one of another project', async () => {
    const ok = await create({ remote_group_id: group, protocol: 'icmp' });
    assert.equal(ok.status, 201);
    assert.equal((ok.body['security_group_rule'] as Rule)['remote_group_id'], group);
    const foreign = await create({ remote_group_id: other });
    assert.equal(foreign.status, 404);
    assert.equal((foreign.body['NeutronError'] as { type: string }).type, 'SecurityGroupNotFound');
  });

  it("answers Neutron's 4xx for bad rules and stores none of them", async () => {
    const before = await ruleCount();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ protocol: 'tcp', port_range_min: 30, port_range_max: 20 }, 400, 'SecurityGroupInvalidPortRange'],
      [{ protocol: 'tcp', port_range_min: 0, port_range_max: 20 }, 400, 'SecurityGroupInvalidPortValue'],
      [{ protocol: 'tcp', port_range_min: 70000, port_range_max: 70000 }, 400, 'SecurityGroupInvalidPortValue'],
      [{ port_range_min: 22, port_range_max: 22 }, 400, 'SecurityGroupProtocolRequiredWithPorts'],
      [{ protocol: 'icmp', port_range_min: 300 }, 400, 'SecurityGroupInvalidIcmpValue'],
      [{ protocol: 'icmp', port_range_max: 3 }, 400, 'SecurityGroupMissingIcmpType'],
      [{ protocol: 'gre', port_range_min: 1, port_range_max: 2 }, 400, 'SecurityGroupInvalidProtocolForPort'],
      [{ protocol: 'bogus' }, 400, 'SecurityGroupRuleInvalidProtocol'],
      [{ protocol: 'constructor' }, 400, 'SecurityGroupRuleInvalidProtocol'],
      [{ protocol: '__proto__' }, 400, 'SecurityGroupRuleInvalidProtocol'],
      [{ protocol: 256 }, 400, 'SecurityGroupRuleInvalidProtocol'],
      [{ ethertype: 'IPv5' }, 400, 'SecurityGroupRuleInvalidEtherType'],
      [{ ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/8' }, 400, 'SecurityGroupRuleParameterConflict'],
      [{ remote_ip_prefix: 'not-a-cidr' }, 400, 'InvalidCIDR'],
      [{ remote_ip_prefix: '10.0.0.0/8', remote_group_id: group }, 400, 'SecurityGroupMultipleRemoteEntites'],
      [{ protocol: 'ipv6-icmp', ethertype: 'IPv4' }, 400, 'SecurityGroupEthertypeConflictWithProtocol'],
      [{ direction: 'sideways' }, 400, 'HTTPBadRequest'],
      [{ bogus: true }, 400, 'HTTPBadRequest'],
      [{ security_group_id: other }, 404, 'SecurityGroupNotFound'],
    ];
    for (const [rule, status, type] of cases) {
      const res = await create(rule);
      assert.equal(res.status, status, `${JSON.stringify(rule)}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body['NeutronError'] as { type: string }).type, type, JSON.stringify(rule));
    }
    const missing = await api.call('alice', 'POST', '/v2.0/security-group-rules', {
      security_group_rule: { security_group_id: group },
    });
    assert.equal(missing.status, 400);
    assert.equal(await ruleCount(), before);
  });

  it("shows a project only its groups' rules and deletes a rule", async () => {
    const bobs = await api.call('bob', 'GET', '/v2.0/security-group-rules');
    const bobRules = bobs.body['security_group_rules'] as Rule[];
    assert.ok(bobRules.length > 0);
    assert.ok(bobRules.every((r) => r['project_id'] !== undefined && r['security_group_id'] !== group));
    const mine = await api.call('alice', 'GET', `/v2.0/security-group-rules?security_group_id=${group}&protocol=tcp`);
    const tcp = mine.body['security_group_rules'] as Rule[];
    assert.ok(tcp.length >= 2 && tcp.every((r) => r['protocol'] === 'tcp'));
    const target = tcp[0]!.id;
    assert.equal((await api.call('bob', 'GET', `/v2.0/security-group-rules/${target}`)).status, 404);
    assert.equal((await api.call('bob', 'DELETE', `/v2.0/security-group-rules/${target}`)).status, 404);
    assert.equal((await api.call('alice', 'DELETE', `/v2.0/security-group-rules/${target}`)).status, 204);
    const gone = await api.call('alice', 'GET', `/v2.0/security-group-rules/${target}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body['NeutronError'], {
      type: 'SecurityGroupRuleNotFound',
      message: `Security group rule ${target} does not exist`,
      detail: '',
    });
  });
});
