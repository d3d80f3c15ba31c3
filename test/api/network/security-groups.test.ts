/**
 * /v2.0/security-groups: the default group made once on first use with Neutron's rules, create, show,
 * update, delete, the default group's protections, a group in use, visibility and policy, and the list
 * query (filters, fields, sorting, paging).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { PROJECT_A, PROJECT_B, startNetworkApi, type NetworkApiHarness } from './helpers.ts';

type Group = {
  id: string;
  name: string;
  project_id: string;
  tenant_id: string;
  stateful: boolean;
  description: string;
  revision_number: number;
  security_group_rules: Record<string, unknown>[];
};

describe('network API: security groups', () => {
  let api: NetworkApiHarness;
  before(async () => {
    api = await startNetworkApi();
  });
  after(() => api.close());

  const groups = async (who: 'alice' | 'bob' | 'admin', query = '') => {
    const res = await api.call(who, 'GET', `/v2.0/security-groups${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body['security_groups'] as Group[];
  };

  it("makes a project's default group on first look, once, with Neutron's default rules", async () => {
    const first = await groups('alice');
    assert.equal(first.length, 1);
    const group = first[0]!;
    assert.equal(group.name, 'default');
    assert.equal(group.description, 'Default security group');
    assert.equal(group.project_id, PROJECT_A);
    assert.equal(group.tenant_id, PROJECT_A);
    assert.equal(group.stateful, true);
    const rules = group.security_group_rules
      .map(
        (r) =>
          `${r['direction']} ${r['ethertype']} ${r['remote_group_id'] === group.id ? 'self' : r['remote_group_id']}`,
      )
      .sort();
    assert.deepEqual(rules, ['egress IPv4 null', 'egress IPv6 null', 'ingress IPv4 self', 'ingress IPv6 self']);
    assert.deepEqual(Object.keys(group).sort(), [
      'created_at',
      'description',
      'id',
      'name',
      'project_id',
      'revision_number',
      'security_group_rules',
      'stateful',
      'tags',
      'tenant_id',
      'updated_at',
    ]);
    const again = await groups('alice');
    assert.deepEqual(
      again.map((g) => g.id),
      [group.id],
    );
  });

  it('creates, shows, updates and deletes a group; new groups may send anywhere', async () => {
    const created = await api.call('alice', 'POST', '/v2.0/security-groups', {
      security_group: { name: 'web', description: 'web servers' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const group = created.body['security_group'] as Group;
    assert.equal(group.name, 'web');
    assert.deepEqual(group.security_group_rules.map((r) => `${r['direction']} ${r['ethertype']}`).sort(), [
      'egress IPv4',
      'egress IPv6',
    ]);
    const shown = await api.call('alice', 'GET', `/v2.0/security-groups/${group.id}?fields=name&fields=id`);
    assert.deepEqual(shown.body, { security_group: { name: 'web', id: group.id } });

    const updated = await api.call('alice', 'PUT', `/v2.0/security-groups/${group.id}`, {
      security_group: { name: 'web2', stateful: false },
    });
    assert.equal(updated.status, 200);
    const after = updated.body['security_group'] as Group;
    assert.deepEqual([after.name, after.stateful, after.revision_number], ['web2', false, group.revision_number + 1]);

    assert.equal((await api.call('alice', 'DELETE', `/v2.0/security-groups/${group.id}`)).status, 204);
    const gone = await api.call('alice', 'GET', `/v2.0/security-groups/${group.id}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body, {
      NeutronError: { type: 'SecurityGroupNotFound', message: `Security group ${group.id} does not exist`, detail: '' },
    });
  });

  it('protects the default group: no second one, no rename, no delete by its project', async () => {
    const [def] = await groups('alice', '?name=default');
    const dup = await api.call('alice', 'POST', '/v2.0/security-groups', { security_group: { name: 'Default' } });
    assert.equal(dup.status, 409);
    assert.equal((dup.body['NeutronError'] as { type: string }).type, 'SecurityGroupDefaultAlreadyExists');
    const rename = await api.call('alice', 'PUT', `/v2.0/security-groups/${def!.id}`, {
      security_group: { name: 'other' },
    });
    assert.equal(rename.status, 409);
    assert.deepEqual(rename.body['NeutronError'], {
      type: 'SecurityGroupCannotUpdateDefault',
      message: 'Updating default security group not allowed.',
      detail: '',
    });
    const described = await api.call('alice', 'PUT', `/v2.0/security-groups/${def!.id}`, {
      security_group: { description: 'still default' },
    });
    assert.equal(described.status, 200);
    const del = await api.call('alice', 'DELETE', `/v2.0/security-groups/${def!.id}`);
    assert.equal(del.status, 409);
    assert.equal((del.body['NeutronError'] as { type: string }).type, 'SecurityGroupCannotRemoveDefault');
    assert.equal((await groups('alice', '?name=default')).length, 1);
  });

  it('refuses to delete a group a port uses, and to change its statefulness', async () => {
    const created = await api.call('alice', 'POST', '/v2.0/security-groups', { security_group: { name: 'used' } });
    const id = (created.body['security_group'] as Group).id;
    await api.database.db
      .insertInto('security_group_port_bindings')
      .values({ port_id: 'p-1', security_group_id: id })
      .execute();
    const del = await api.call('alice', 'DELETE', `/v2.0/security-groups/${id}`);
    assert.equal(del.status, 409);
    assert.deepEqual(del.body['NeutronError'], {
      type: 'SecurityGroupInUse',
      message: `Security Group ${id} in use.`,
      detail: '',
    });
    const stateless = await api.call('alice', 'PUT', `/v2.0/security-groups/${id}`, {
      security_group: { stateful: false },
    });
    assert.equal(stateless.status, 409);
    await api.database.db.deleteFrom('security_group_port_bindings').where('port_id', '=', 'p-1').execute();
    assert.equal((await api.call('alice', 'DELETE', `/v2.0/security-groups/${id}`)).status, 204);
  });

  it("hides other projects' groups; an admin sees all and may create one for a project", async () => {
    const bobs = await groups('bob');
    assert.ok(bobs.every((g) => g.project_id === PROJECT_B));
    const alices = await groups('alice');
    const other = await api.call('bob', 'GET', `/v2.0/security-groups/${alices[0]!.id}`);
    assert.equal(other.status, 404);
    const forOther = await api.call('bob', 'POST', '/v2.0/security-groups', {
      security_group: { name: 'x', project_id: PROJECT_A },
    });
    assert.equal(forOther.status, 400);
    assert.match(
      (forOther.body['NeutronError'] as { message: string }).message,
      /other than the authenticated project in request requires admin privileges/,
    );
    const byAdmin = await api.call('admin', 'POST', '/v2.0/security-groups', {
      security_group: { name: 'ops', tenant_id: PROJECT_B },
    });
    assert.equal(byAdmin.status, 201);
    assert.equal((byAdmin.body['security_group'] as Group).project_id, PROJECT_B);
    const all = await groups('admin');
    assert.ok(all.some((g) => g.project_id === PROJECT_A) && all.some((g) => g.project_id === PROJECT_B));
  });

  it('answers bad bodies with 400 and changes nothing', async () => {
    const before = (await groups('alice')).length;
    for (const body of [
      {},
      { security_group: { name: 'x', bogus: 1 } },
      { security_group: { name: 7 } },
      { security_group: { name: 'x', stateful: 'maybe' } },
      { security_group: { name: 'x'.repeat(256) } },
    ]) {
      const res = await api.call('alice', 'POST', '/v2.0/security-groups', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.ok(res.body['NeutronError'], JSON.stringify(res.body));
    }
    assert.equal((await groups('alice')).length, before);
  });

  it('counts groups and rules against the network quotas', async () => {
    const quota = await api.call('admin', 'PUT', `/v2.0/quotas/${PROJECT_B}`, {
      quota: { security_group: (await groups('bob')).length + 1, security_group_rule: 1000 },
    });
    assert.equal(quota.status, 200, JSON.stringify(quota.body));
    const one = await api.call('bob', 'POST', '/v2.0/security-groups', { security_group: { name: 'last' } });
    assert.equal(one.status, 201);
    const over = await api.call('bob', 'POST', '/v2.0/security-groups', { security_group: { name: 'over' } });
    assert.equal(over.status, 409);
    assert.equal((over.body['NeutronError'] as { type: string }).type, 'OverQuota');
    assert.ok(!(await groups('bob')).some((g) => g.name === 'over'));
    await api.call('admin', 'DELETE', `/v2.0/quotas/${PROJECT_B}`);
  });

  it('sorts and pages with links', async () => {
    for (const name of ['p1', 'p2', 'p3']) {
      await api.call('bob', 'POST', '/v2.0/security-groups', { security_group: { name } });
    }
    const sorted = await groups('bob', '?sort_key=name&sort_dir=desc');
    assert.deepEqual(
      sorted.map((g) => g.name),
      [...sorted.map((g) => g.name)].sort().reverse(),
    );
    const page = await api.call('bob', 'GET', '/v2.0/security-groups?limit=2&sort_key=name&sort_dir=asc');
    assert.equal((page.body['security_groups'] as Group[]).length, 2);
    const links = page.body['security_groups_links'] as { rel: string; href: string }[];
    assert.equal(links[0]!.rel, 'next');
    const next = await api.call('bob', 'GET', new URL(links[0]!.href).pathname + new URL(links[0]!.href).search);
    assert.equal(next.status, 200);
    assert.ok((next.body['security_groups'] as Group[]).length >= 1);
    const bad = await api.call('bob', 'GET', '/v2.0/security-groups?bogus=1');
    assert.equal(bad.status, 400);
  });
});
