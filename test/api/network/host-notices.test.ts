/**
 * The network API tells compute hosts when guests' ports change (network_info_changed): rule changes
 * reach the ports of the group, port changes reach the port and ports watching its groups, floating
 * IP mappings reach the fixed port; unrelated hosts hear nothing and a refusing bus fails no request.
 */
import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, it } from 'node:test';
import { instanceNics, recordNicRequests } from '../../../src/objects/instance-networks.ts';
import { insertTestInstance } from '../../helpers/instance-rows.ts';
import { PROJECT_A, startNetworkApi, type NetworkApiHarness } from './helpers.ts';
import { l3Fixture, post, type L3Fixture } from './l3-fixture.ts';

describe('network API: telling compute hosts of changed ports', () => {
  let api: NetworkApiHarness;
  let f: L3Fixture;
  let web: string;
  let watcher: string;
  /** Server ports: A in `web` on host-a, B in default on host-b, C in `watcher` on host-c. */
  const ports: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };

  /** A server on `host` owning a new port of alice's network in `groups`; returns the port. */
  async function serverPort(host: string, groups?: string[]): Promise<string> {
    const uuid = await insertTestInstance(api.database.db, { host, project: PROJECT_A });
    const port = await post(api, 'alice', 'port', {
      network_id: f.alice.network,
      device_owner: 'compute:nova',
      device_id: uuid,
      ...(groups ? { security_groups: groups } : {}),
    });
    const nic = { network_id: null, fixed_ip: null, port_id: port.id, tag: null, security_groups: [] };
    await recordNicRequests(api.database.db, uuid, [nic]);
    return port.id;
  }

  /** Creates a security group or rule (whose URLs are dashed, their body keys not) as alice. */
  async function postSg(kind: 'security_group' | 'security_group_rule', body: Record<string, unknown>) {
    const res = await api.call('alice', 'POST', `/v2.0/${kind.replaceAll('_', '-')}s`, { [kind]: body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body[kind] as { id: string };
  }

  /** The members of `group` as the last security_group_members_changed to `host` carried them. */
  const membersTold = (host: string, group: string) => {
    const cast = api.transport.casts.findLast(
      (c) => c.method === 'security_group_members_changed' && c.queue === `compute.${host}`,
    );
    const groups = (cast?.args['groups'] ?? []) as { id: string; ipv4: string[] }[];
    return groups.find((g) => g.id === group)?.ipv4;
  };
  const addressOf = async (port: string) =>
    (
      await api.database.db
        .selectFrom('ip_allocations')
        .select('ip_address')
        .where('port_id', '=', port)
        .executeTakeFirstOrThrow()
    ).ip_address;

  /** The hosts told since the last reset (of a port change or of group members), sorted, each once. */
  const told = () =>
    [
      ...new Set(
        api.transport.casts
          .filter((c) => c.method === 'network_info_changed' || c.method === 'security_group_members_changed')
          .map((c) => c.queue.replace(/^compute\./, '')),
      ),
    ].sort();

  before(async () => {
    api = await startNetworkApi();
    f = await l3Fixture(api);
    web = (await postSg('security_group', { name: 'web' })).id;
    watcher = (await postSg('security_group', { name: 'watcher' })).id;
    // watcher lets in what comes from web's members: its ports see web's membership.
    await postSg('security_group_rule', {
      security_group_id: watcher,
      direction: 'ingress',
      remote_group_id: web,
    });
    ports.a = await serverPort('host-a', [web]);
    ports.b = await serverPort('host-b');
    ports.c = await serverPort('host-c', [watcher]);
    const router = await post(api, 'alice', 'router', { name: 'r', external_gateway_info: { network_id: f.external } });
    const added = await api.call('alice', 'PUT', `/v2.0/routers/${router.id}/add_router_interface`, {
      subnet_id: f.alice.subnet,
    });
    assert.equal(added.status, 200);
  });
  after(() => api.close());
  beforeEach(() => {
    api.transport.casts.length = 0;
    api.transport.refuse = null;
  });

  it("a rule created in or deleted from a group tells the hosts of the group's ports only", async () => {
    const rule = await postSg('security_group_rule', {
      security_group_id: web,
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 80,
      port_range_max: 80,
    });
    assert.deepEqual(told(), ['host-a']);
    const cast = api.transport.casts[0]!;
    const [vif] = cast.args['network_info'] as { id: string; security_group_rules: { port_range_min: number }[] }[];
    assert.equal(vif!.id, ports.a);
    assert.ok(
      vif!.security_group_rules.some((r) => r.port_range_min === 80),
      'the cast carries the new rule',
    );

    api.transport.casts.length = 0;
    const deleted = await api.call('alice', 'DELETE', `/v2.0/security-group-rules/${rule.id}`);
    assert.equal(deleted.status, 204);
    assert.deepEqual(told(), ['host-a']);
  });

  it('a port joining a group tells its host and the hosts watching the group', async () => {
    const joined = await api.call('alice', 'PUT', `/v2.0/ports/${ports.b}`, { port: { security_groups: [web] } });
    assert.equal(joined.status, 200);
    assert.deepEqual(told(), ['host-b', 'host-c']);
    // host-c's port watches web through a rule: it hears web's members, b's address among them.
    const [a, b] = [await addressOf(ports.a), await addressOf(ports.b)];
    assert.deepEqual(membersTold('host-c', web), [`${a}/32`, `${b}/32`].sort());

    // Leaving the group again: the watchers lose its address, so they hear of it too.
    api.transport.casts.length = 0;
    const left = await api.call('alice', 'PUT', `/v2.0/ports/${ports.b}`, { port: { security_groups: [] } });
    assert.equal(left.status, 200);
    assert.deepEqual(told(), ['host-b', 'host-c']);
    assert.deepEqual(membersTold('host-c', web), [`${a}/32`]);
  });

  it('a port made in a watched group reaches the watching hosts, not the others', async () => {
    const made = await post(api, 'alice', 'port', { network_id: f.alice.network, security_groups: [web] });
    assert.deepEqual(told(), ['host-c']);
    assert.ok(membersTold('host-c', web)!.includes(`${await addressOf(made.id)}/32`));
    api.transport.casts.length = 0;
    assert.equal((await api.call('alice', 'DELETE', `/v2.0/ports/${made.id}`)).status, 204);
    assert.deepEqual(told(), ['host-c']);
    assert.deepEqual(membersTold('host-c', web), [`${await addressOf(ports.a)}/32`]);
  });

  it("address pairs and port security reach the hosts; a port's name reaches none", async () => {
    const pairs = await api.call('alice', 'PUT', `/v2.0/ports/${ports.a}`, {
      port: { allowed_address_pairs: [{ ip_address: '10.10.0.200' }] },
    });
    assert.equal(pairs.status, 200);
    assert.deepEqual(told(), ['host-a', 'host-c']);

    api.transport.casts.length = 0;
    const unfiltered = await api.call('alice', 'PUT', `/v2.0/ports/${ports.b}`, {
      port: { port_security_enabled: false },
    });
    assert.equal(unfiltered.status, 200, JSON.stringify(unfiltered.body));
    assert.deepEqual(told(), ['host-b']);
    const [vif] = api.transport.casts[0]!.args['network_info'] as { port_security_enabled: boolean }[];
    assert.equal(vif!.port_security_enabled, false);

    api.transport.casts.length = 0;
    const renamed = await api.call('alice', 'PUT', `/v2.0/ports/${ports.a}`, { port: { name: 'renamed' } });
    assert.equal(renamed.status, 200);
    assert.deepEqual(told(), []);
  });

  it('associating, moving, disassociating and deleting a floating IP tells the fixed ports hosts', async () => {
    const fip = await post(api, 'alice', 'floatingip', { floating_network_id: f.external, port_id: ports.a });
    assert.deepEqual(told(), ['host-a']);
    const mapped = api.transport.casts[0]!.args['network_info'] as { floating_ips: unknown[] }[];
    assert.equal(mapped[0]!.floating_ips.length, 1);

    api.transport.casts.length = 0;
    const moved = await api.call('alice', 'PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: ports.b } });
    assert.equal(moved.status, 200);
    assert.deepEqual(told(), ['host-a', 'host-b']);

    api.transport.casts.length = 0;
    const described = await api.call('alice', 'PUT', `/v2.0/floatingips/${fip.id}`, {
      floatingip: { description: 'same mapping' },
    });
    assert.equal(described.status, 200);
    assert.deepEqual(told(), [], 'a description changes nothing on a host');

    const unmapped = await api.call('alice', 'PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: null } });
    assert.equal(unmapped.status, 200);
    assert.deepEqual(told(), ['host-b']);

    await api.call('alice', 'PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: ports.b } });
    api.transport.casts.length = 0;
    const deleted = await api.call('alice', 'DELETE', `/v2.0/floatingips/${fip.id}`);
    assert.equal(deleted.status, 204);
    assert.deepEqual(told(), ['host-b']);
  });

  it('deleting a port with a floating IP tells its host and the hosts watching its groups', async () => {
    const doomed = await serverPort('host-d', [web]);
    await post(api, 'alice', 'floatingip', { floating_network_id: f.external, port_id: doomed });
    api.transport.casts.length = 0;
    const deleted = await api.call('alice', 'DELETE', `/v2.0/ports/${doomed}`);
    assert.equal(deleted.status, 204);
    assert.deepEqual(told(), ['host-c', 'host-d']);
  });

  it("deleting a server's port makes the server forget it and its host detach it", async () => {
    const doomed = await serverPort('host-e');
    const server = (
      await api.database.db.selectFrom('ports').select('device_id').where('id', '=', doomed).executeTakeFirstOrThrow()
    ).device_id;
    api.transport.casts.length = 0;
    const deleted = await api.call('alice', 'DELETE', `/v2.0/ports/${doomed}`);
    assert.equal(deleted.status, 204);
    const detach = api.transport.casts.find((c) => c.method === 'detach_interface');
    assert.ok(detach, 'no detach_interface was sent');
    assert.equal(detach.queue, 'compute.host-e');
    assert.equal((detach.args['vif'] as { id: string }).id, doomed);
    assert.equal((detach.args['instance'] as { uuid: string }).uuid, server);
    assert.deepEqual(await instanceNics(api.database.db, server), []);
  });

  it('deleting a port of no server detaches nothing', async () => {
    const loose = await post(api, 'alice', 'port', { network_id: f.alice.network });
    api.transport.casts.length = 0;
    assert.equal((await api.call('alice', 'DELETE', `/v2.0/ports/${loose.id}`)).status, 204);
    assert.equal(api.transport.casts.filter((c) => c.method === 'detach_interface').length, 0);
  });

  it('answers as usual when the bus refuses the casts', async () => {
    api.transport.refuse = new Error('broker gone');
    const rule = await api.call('alice', 'POST', '/v2.0/security-group-rules', {
      security_group_rule: { security_group_id: web, direction: 'egress', protocol: 'udp' },
    });
    assert.equal(rule.status, 201);
    const port = await api.call('alice', 'PUT', `/v2.0/ports/${ports.a}`, {
      port: { security_groups: [web, watcher] },
    });
    assert.equal(port.status, 200);
    assert.deepEqual(
      (port.body['port'] as { security_groups: string[] }).security_groups.sort(),
      [web, watcher].sort(),
    );
    assert.deepEqual(told(), []);
    // The same change with the bus back is cast: the refusal above was the bus's, not a skipped cast.
    api.transport.refuse = null;
    await api.call('alice', 'PUT', `/v2.0/ports/${ports.a}`, { port: { security_groups: [watcher, web] } });
    assert.deepEqual(told(), ['host-a', 'host-c']);
  });
});
