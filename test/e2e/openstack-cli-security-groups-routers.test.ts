/**
 * Security groups, routers and floating IPs through the real `openstack` CLI against an all-in-one
 * cloud: groups and rules (the default group's protections, duplicates and bad rules refused), a
 * router with a gateway on an external network and a project subnet attached, and a floating IP set
 * on a port, unset and deleted; the refusals a user meets say what Neutron says.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAllInOne, type Deployment } from '../helpers/deployments.ts';

type Row = Record<string, unknown>;

describe('openstack CLI: security groups, routers, floating IPs', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-netsg-'));
    d = await startAllInOne(dir, cleanup);
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const fails = async (pattern: RegExp, ...args: string[]) => {
    const result = await d.cli.run(...args);
    assert.notEqual(result.code, 0, `${args.join(' ')} should fail`);
    assert.match(result.stderr, pattern);
  };

  it('security groups and rules', async () => {
    const { cli } = d;
    const web = await cli.json<Row>('security', 'group', 'create', '--description', 'web servers', 'web');
    assert.equal(web['name'], 'web');
    assert.equal(web['description'], 'web servers');
    const listed = await cli.json<{ Name: string; ID: string }[]>('security', 'group', 'list');
    assert.deepEqual(listed.map((g) => g.Name).sort(), ['default', 'web']);

    const rule = await cli.json<Row>(
      ...['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22'],
      ...['--remote-ip', '0.0.0.0/0', 'web'],
    );
    assert.deepEqual(
      [rule['protocol'], rule['port_range_min'], rule['port_range_max'], rule['remote_ip_prefix'], rule['direction']],
      ['tcp', 22, 22, '0.0.0.0/0', 'ingress'],
    );
    await fails(
      /Security group rule already exists\. Rule id is /,
      ...['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '0.0.0.0/0'],
      'web',
    );
    // (The CLI itself refuses a port range that runs backwards; the server answers the rest.)
    await fails(
      /Invalid value for ICMP type \(port_range_min\) 300\. It must be 0 to 255\./,
      ...['security', 'group', 'rule', 'create', '--protocol', 'icmp', '--icmp-type', '300', 'web'],
    );
    await fails(
      /Conflicting value ethertype IPv6 for CIDR 10\.0\.0\.0\/8/,
      ...['security', 'group', 'rule', 'create', '--ethertype', 'IPv6', '--remote-ip', '10.0.0.0/8', 'web'],
    );
    await fails(
      /protocol bogus not supported/,
      ...['security', 'group', 'rule', 'create', '--protocol', 'bogus', 'web'],
    );
    const rules = await cli.json<{ 'IP Protocol': string | null; 'Port Range': string }[]>(
      ...['security', 'group', 'rule', 'list', 'web'],
    );
    assert.ok(
      rules.some((r) => r['IP Protocol'] === 'tcp' && r['Port Range'] === '22:22'),
      JSON.stringify(rules),
    );
    assert.equal(rules.length, 3, 'two egress rules and the SSH rule');

    await fails(/Updating default security group not allowed/, 'security', 'group', 'set', '--name', 'x', 'default');
    await cli.ok('security', 'group', 'rule', 'delete', rule['id'] as string);
    await cli.ok('security', 'group', 'delete', 'web');
    await fails(/web/, 'security', 'group', 'show', 'web');
  });

  it('a router between a project subnet and an external network, and a floating IP through it', async () => {
    const { cli } = d;
    await cli.ok('network', 'create', '--external', 'public');
    await cli.ok('subnet', 'create', '--network', 'public', '--subnet-range', '203.0.113.0/24', 'public-sub');
    await cli.ok('network', 'create', 'private');
    await cli.ok('subnet', 'create', '--network', 'private', '--subnet-range', '10.0.5.0/24', 'private-sub');
    const port = await cli.json<{ id: string; fixed_ips: { ip_address: string }[] }>(
      ...['port', 'create', '--network', 'private', 'vm-port'],
    );

    const router = await cli.json<Row>('router', 'create', 'r1');
    assert.equal(router['status'], 'ACTIVE');
    await fails(/is not an external network/, 'router', 'set', '--external-gateway', 'private', 'r1');
    await cli.ok('router', 'set', '--external-gateway', 'public', 'r1');
    const withGw = await cli.json<{ external_gateway_info: { network_id: string; enable_snat: boolean } }>(
      ...['router', 'show', 'r1'],
    );
    const publicId = (await cli.json<{ id: string }>('network', 'show', 'public')).id;
    assert.equal(withGw.external_gateway_info.network_id, publicId);
    assert.equal(withGw.external_gateway_info.enable_snat, true);

    // Before the subnet is attached, the floating IP cannot reach the port.
    const fip = await cli.json<{ id: string; floating_ip_address: string; status: string }>(
      ...['floating', 'ip', 'create', 'public'],
    );
    assert.match(fip.floating_ip_address, /^203\.0\.113\.\d+$/);
    assert.equal(fip.status, 'DOWN');
    await fails(/is not reachable from subnet/, 'floating', 'ip', 'set', '--port', 'vm-port', fip.floating_ip_address);

    await cli.ok('router', 'add', 'subnet', 'r1', 'private-sub');
    await fails(/has ports still attached/, 'router', 'delete', 'r1');
    await cli.ok('floating', 'ip', 'set', '--port', 'vm-port', fip.floating_ip_address);
    const mapped = await cli.json<{ port_id: string; fixed_ip_address: string; status: string; router_id: string }>(
      ...['floating', 'ip', 'show', fip.id],
    );
    assert.deepEqual(
      [mapped.port_id, mapped.fixed_ip_address, mapped.status, mapped.router_id],
      [port.id, port.fixed_ips[0]!.ip_address, 'ACTIVE', router['id']],
    );
    await fails(/required by one or more floating IPs/, 'router', 'remove', 'subnet', 'r1', 'private-sub');

    await cli.ok('floating', 'ip', 'unset', '--port', fip.id);
    const unmapped = await cli.json<{ port_id: string | null; status: string }>('floating', 'ip', 'show', fip.id);
    assert.deepEqual([unmapped.port_id, unmapped.status], [null, 'DOWN']);
    await fails(/is not a valid external network/, 'floating', 'ip', 'create', 'private');
    await cli.ok('floating', 'ip', 'delete', fip.id);
    const left = await cli.json<unknown[]>('floating', 'ip', 'list');
    assert.deepEqual(left, []);

    await cli.ok('router', 'remove', 'subnet', 'r1', 'private-sub');
    await cli.ok('router', 'unset', '--external-gateway', 'r1');
    await cli.ok('router', 'delete', 'r1');
    assert.deepEqual(await cli.json<unknown[]>('router', 'list'), []);
    // Nothing of the router or the floating IP is left on the networks.
    const ports = await cli.json<{ ID: string }[]>('port', 'list');
    assert.deepEqual(
      ports.map((p) => p.ID),
      [port.id],
    );
  });
});
