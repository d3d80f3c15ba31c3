/**
 * Networks, subnets and ports through the real `openstack` CLI (and once through openstacksdk) against
 * an all-in-one cloud on SQLite: create, list, show, set and delete, a subnet with pools, DNS servers
 * and host routes, ports with requested and automatic addresses, and the refusals a user meets
 * (overlapping CIDR, an address taken, a network in use).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startAllInOne, type Deployment } from '../helpers/deployments.ts';

const run = promisify(execFile);

describe('openstack CLI: networks, subnets, ports', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-net-'));
    d = await startAllInOne(dir, cleanup);
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, lists, shows, sets and deletes a network', async () => {
    const { cli } = d;
    const created = await cli.json<Record<string, unknown>>('network', 'create', '--description', 'first', 'net-a');
    assert.equal(created['name'], 'net-a');
    assert.equal(created['status'], 'ACTIVE');
    assert.equal(created['mtu'], 1500);
    assert.equal(created['description'], 'first');
    const listed = await cli.json<{ ID: string; Name: string; Subnets: unknown }[]>('network', 'list');
    assert.ok(listed.some((n) => n.ID === created['id'] && n.Name === 'net-a'));
    await cli.ok('network', 'set', '--name', 'net-renamed', '--description', 'second', 'net-a');
    const shown = await cli.json<Record<string, unknown>>('network', 'show', 'net-renamed');
    assert.equal(shown['id'], created['id']);
    assert.equal(shown['description'], 'second');
    assert.equal(shown['revision_number'], 2);
    await cli.ok('network', 'delete', 'net-renamed');
    const gone = await cli.run('network', 'show', 'net-renamed');
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /No Network found for net-renamed/);
  });

  it('an admin makes a provider network, shared and external', async () => {
    const { cli } = d;
    const net = await cli.json<Record<string, unknown>>(
      'network',
      'create',
      '--provider-network-type',
      'vlan',
      '--provider-physical-network',
      'physnet1',
      '--provider-segment',
      '101',
      '--share',
      '--external',
      'ext-net',
    );
    assert.equal(net['provider:network_type'], 'vlan');
    assert.equal(net['provider:physical_network'], 'physnet1');
    assert.equal(net['provider:segmentation_id'], 101);
    assert.equal(net['shared'], true);
    assert.equal(net['router:external'], true);
    const again = await cli.run(
      'network',
      'create',
      '--provider-network-type',
      'vlan',
      '--provider-physical-network',
      'physnet1',
      '--provider-segment',
      '101',
      'ext-net-2',
    );
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /The VLAN 101 on physical network physnet1 is in use/);
    await cli.ok('network', 'delete', 'ext-net');
  });

  it('a subnet with pools, DNS servers and host routes; overlaps refused', async () => {
    const { cli } = d;
    await cli.ok('network', 'create', 'net-b');
    const subnet = await cli.json<Record<string, unknown>>(
      'subnet',
      'create',
      '--network',
      'net-b',
      '--subnet-range',
      '10.20.0.0/24',
      '--allocation-pool',
      'start=10.20.0.100,end=10.20.0.200',
      '--dns-nameserver',
      '10.20.0.53',
      '--dns-nameserver',
      '9.9.9.9',
      '--host-route',
      'destination=192.168.7.0/24,gateway=10.20.0.254',
      'sub-b',
    );
    assert.equal(subnet['cidr'], '10.20.0.0/24');
    assert.equal(subnet['gateway_ip'], '10.20.0.1');
    assert.equal(subnet['ip_version'], 4);
    assert.equal(subnet['enable_dhcp'], true);
    assert.deepEqual(subnet['allocation_pools'], [{ start: '10.20.0.100', end: '10.20.0.200' }]);
    assert.deepEqual(subnet['dns_nameservers'], ['10.20.0.53', '9.9.9.9']);
    assert.deepEqual(subnet['host_routes'], [{ destination: '192.168.7.0/24', nexthop: '10.20.0.254' }]);
    const listed = await cli.json<{ Name: string; Subnet: string }[]>('subnet', 'list', '--network', 'net-b');
    assert.deepEqual(
      listed.map((s) => [s.Name, s.Subnet]),
      [['sub-b', '10.20.0.0/24']],
    );
    const net = await cli.json<{ subnets: string[] }>('network', 'show', 'net-b');
    assert.deepEqual(net.subnets, [subnet['id']]);

    const overlap = await cli.run('subnet', 'create', '--network', 'net-b', '--subnet-range', '10.20.0.128/25', 'x');
    assert.notEqual(overlap.code, 0);
    assert.match(
      overlap.stderr,
      /Requested subnet with cidr: 10.20.0.128\/25 for network: .* overlaps with another subnet/,
    );
    const bad = await cli.run('subnet', 'create', '--network', 'net-b', '--subnet-range', '10.300.0.0/24', 'y');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Invalid input for cidr/);

    // The CLI sends the added server first, then the ones the subnet had; the order sent is kept.
    await cli.ok('subnet', 'set', '--dns-nameserver', '1.1.1.1', '--name', 'sub-b2', 'sub-b');
    const set = await cli.json<{ name: string; dns_nameservers: string[] }>('subnet', 'show', 'sub-b2');
    assert.equal(set.name, 'sub-b2');
    assert.deepEqual(set.dns_nameservers, ['1.1.1.1', '10.20.0.53', '9.9.9.9']);
  });

  it('ports: requested and automatic addresses, taken address refused, network in use', async () => {
    const { cli } = d;
    const fixed = await cli.json<{ id: string; fixed_ips: { ip_address: string }[]; mac_address: string }>(
      'port',
      'create',
      '--network',
      'net-b',
      '--fixed-ip',
      'subnet=sub-b2,ip-address=10.20.0.150',
      'port-fixed',
    );
    assert.deepEqual(
      fixed.fixed_ips.map((f) => f.ip_address),
      ['10.20.0.150'],
    );
    assert.match(fixed.mac_address, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
    const auto = await cli.json<{ fixed_ips: { ip_address: string }[]; security_group_ids: string[] }>(
      'port',
      'create',
      '--network',
      'net-b',
      'port-auto',
    );
    const autoIp = auto.fixed_ips[0]!.ip_address;
    const last = Number(autoIp.split('.')[3]);
    assert.ok(last >= 100 && last <= 200 && autoIp !== '10.20.0.150', autoIp);
    // The project's default group, made on first use (the security group API is not this test's).
    const groups = await d.database.db.selectFrom('security_groups').select(['id', 'name']).execute();
    assert.deepEqual(
      groups.map((g) => g.name),
      ['default'],
    );
    assert.deepEqual(auto.security_group_ids, [groups[0]!.id]);

    const taken = await cli.run('port', 'create', '--network', 'net-b', '--fixed-ip', 'ip-address=10.20.0.150', 'dup');
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /IP address 10.20.0.150 already allocated in subnet/);
    const outside = await cli.run(
      'port',
      'create',
      '--network',
      'net-b',
      '--fixed-ip',
      'subnet=sub-b2,ip-address=10.99.0.5',
      'out',
    );
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /is not a valid IP for the specified subnet/);

    const ports = await cli.json<{ Name: string; 'Fixed IP Addresses': unknown }[]>(
      'port',
      'list',
      '--network',
      'net-b',
    );
    assert.deepEqual(ports.map((p) => p.Name).sort(), ['port-auto', 'port-fixed']);
    const byIp = await cli.json<{ Name: string }[]>('port', 'list', '--fixed-ip', 'ip-address=10.20.0.150');
    assert.deepEqual(
      byIp.map((p) => p.Name),
      ['port-fixed'],
    );

    const inUse = await cli.run('network', 'delete', 'net-b');
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /There are one or more ports still in use on the network/);
    await cli.ok('port', 'delete', 'port-fixed', 'port-auto');
    await cli.ok('network', 'delete', 'net-b');
  });

  it('IPv6, no gateway, and a port without port security', async () => {
    const { cli } = d;
    await cli.ok('network', 'create', 'net-c');
    const v6 = await cli.json<Record<string, unknown>>(
      'subnet',
      'create',
      '--network',
      'net-c',
      '--ip-version',
      '6',
      '--subnet-range',
      '2001:db8:5::/64',
      'sub-v6',
    );
    assert.equal(v6['gateway_ip'], '2001:db8:5::1');
    const noGw = await cli.json<Record<string, unknown>>(
      'subnet',
      'create',
      '--network',
      'net-c',
      '--subnet-range',
      '10.30.0.0/29',
      '--gateway',
      'none',
      'sub-nogw',
    );
    assert.equal(noGw['gateway_ip'], null);
    assert.deepEqual(noGw['allocation_pools'], [{ start: '10.30.0.1', end: '10.30.0.6' }]);
    const open = await cli.json<{ port_security_enabled: boolean; security_group_ids: string[]; fixed_ips: unknown[] }>(
      'port',
      'create',
      '--network',
      'net-c',
      '--disable-port-security',
      '--no-security-group',
      'open-port',
    );
    assert.equal(open.port_security_enabled, false);
    assert.deepEqual(open.security_group_ids, []);
    assert.equal(open.fixed_ips.length, 2, 'one address of each family');
    await cli.ok('port', 'delete', 'open-port');
    await cli.ok('network', 'delete', 'net-c');
  });

  it('tags on networks and ports: create, set, list by tag and unset', async () => {
    const { cli } = d;
    const net = await cli.json<{ id: string; tags: string[] }>('network', 'create', '--tag', 'a', 'net-tagged');
    assert.deepEqual(net.tags, ['a']);
    await cli.json('network', 'create', 'net-untagged');
    await cli.ok('network', 'set', '--tag', 'b', 'net-tagged');
    assert.deepEqual((await cli.json<{ tags: string[] }>('network', 'show', 'net-tagged')).tags, ['a', 'b']);
    const byTag = await cli.json<{ ID: string }[]>('network', 'list', '--tags', 'a');
    assert.deepEqual(
      byTag.map((n) => n.ID),
      [net.id],
    );
    const notB = await cli.json<{ Name: string }[]>('network', 'list', '--not-tags', 'b');
    assert.ok(notB.some((n) => n.Name === 'net-untagged') && !notB.some((n) => n.Name === 'net-tagged'));
    await cli.ok('network', 'unset', '--tag', 'a', 'net-tagged');
    assert.deepEqual((await cli.json<{ tags: string[] }>('network', 'show', 'net-tagged')).tags, ['b']);
    assert.deepEqual(await cli.json('network', 'list', '--tags', 'a'), []);

    const port = await cli.json<{ id: string; tags: string[] }>(
      'port',
      'create',
      '--network',
      'net-tagged',
      '--tag',
      'p1',
      'port-tagged',
    );
    assert.deepEqual(port.tags, ['p1']);
    await cli.ok('port', 'set', '--tag', 'p2', 'port-tagged');
    const ports = await cli.json<{ ID: string }[]>('port', 'list', '--tags', 'p1,p2');
    assert.deepEqual(
      ports.map((p) => p.ID),
      [port.id],
    );
    await cli.ok('port', 'unset', '--tag', 'p1', 'port-tagged');
    assert.deepEqual((await cli.json<{ tags: string[] }>('port', 'show', 'port-tagged')).tags, ['p2']);
    assert.deepEqual(await cli.json('port', 'list', '--tags', 'p1'), []);
    await cli.ok('port', 'set', '--no-tag', 'port-tagged');
    assert.deepEqual((await cli.json<{ tags: string[] }>('port', 'show', 'port-tagged')).tags, []);
    await cli.ok('port', 'delete', 'port-tagged');
    await cli.ok('network', 'delete', 'net-tagged', 'net-untagged');
  });

  it('network quotas: set and shown', async () => {
    const { cli } = d;
    const project = (await cli.json<{ id: string }>('project', 'show', 'admin')).id;
    await cli.ok('quota', 'set', '--networks', '7', '--ports', '30', project);
    const shown = await cli.json<Record<string, unknown>>('quota', 'show', project);
    assert.equal(shown['networks'], 7);
    assert.equal(shown['ports'], 30);
    assert.equal(shown['subnets'], 100);
  });

  it('openstacksdk lists networks with conn.network.networks()', async () => {
    await d.cli.ok('network', 'create', 'net-sdk');
    const script = [
      'import openstack, json',
      'conn = openstack.connect()',
      'print(json.dumps(sorted(n.name for n in conn.network.networks())))',
    ].join('\n');
    // The interpreter the CLI runs on, which has openstacksdk (another python3 may come first in PATH).
    const { stdout } = await run('/usr/bin/python3', ['-c', script], {
      env: { ...process.env, ...d.env },
      timeout: 60_000,
    });
    assert.ok((JSON.parse(stdout) as string[]).includes('net-sdk'), stdout);
  });
});
