/**
 * Servers on networks through the real `openstack` CLI (and openstacksdk) against an all-in-one cloud
 * with the fake driver: a server on a network shows its address, one takes the user's port, one has no
 * NIC; the ip filter, ports by server, attaching and detaching a port, and delete leaving no port the
 * cloud made. openstacksdk's create_server(wait=True) sees the server's IP.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createRawImage, startAllInOne, type Deployment } from '../helpers/deployments.ts';

const run = promisify(execFile);

type Port = { ID: string; 'Fixed IP Addresses': unknown };

describe('openstack CLI: servers on networks', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-srvnet-'));
    d = await startAllInOne(dir, cleanup);
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'net.tiny');
    await createRawImage(d.cli, dir, 'net-image');
    await d.cli.ok('network', 'create', 'net1');
    await d.cli.ok('subnet', 'create', '--network', 'net1', '--subnet-range', '10.80.0.0/24', 'sub1');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const boot = (...args: string[]) =>
    d.cli.createServerAndWait('--image', 'net-image', '--flavor', 'net.tiny', ...args);

  it('boots on a network, on a port, and with no NIC; filters and lists ports by server', async () => {
    const { cli } = d;
    const vm1 = await boot('--network', 'net1', 'vm1');
    assert.equal(vm1.status, 'ACTIVE');
    const shown = await cli.json<{ addresses: Record<string, string[]> }>('server', 'show', 'vm1');
    assert.deepEqual(Object.keys(shown.addresses), ['net1']);
    assert.match(shown.addresses['net1']![0]!, /^10\.80\.0\.\d+$/);

    const port = await cli.json<{ id: string }>(
      'port',
      'create',
      '--network',
      'net1',
      '--fixed-ip',
      'ip-address=10.80.0.77',
      'p1',
    );
    const vm2 = await boot('--nic', `port-id=${port.id}`, 'vm2');
    const bound = await cli.json<{ device_id: string; device_owner: string; status: string }>('port', 'show', 'p1');
    assert.equal(bound.device_id, vm2.id);
    assert.equal(bound.device_owner, 'compute:nova');
    // Plugged on the host the server runs on (its report came before the server showed ACTIVE).
    assert.equal(bound.status, 'ACTIVE');
    assert.deepEqual((await cli.json<{ addresses: unknown }>('server', 'show', 'vm2')).addresses, {
      net1: ['10.80.0.77'],
    });

    // `--nic none` goes out as networks "none", which the CLI sends from 2.37.
    await cli.ok(
      ...['--os-compute-api-version', '2.37', 'server', 'create', '--image', 'net-image', '--flavor', 'net.tiny'],
      ...['--nic', 'none', '--wait', 'vm3'],
    );
    assert.deepEqual((await cli.json<{ addresses: unknown }>('server', 'show', 'vm3')).addresses, {});

    const byIp = await cli.json<{ Name: string }[]>('server', 'list', '--ip', '10.80.0.77');
    assert.deepEqual(
      byIp.map((s) => s.Name),
      ['vm2'],
    );
    const onNet = await cli.json<{ Name: string }[]>('server', 'list', '--ip', '10.80.');
    assert.deepEqual(onNet.map((s) => s.Name).sort(), ['vm1', 'vm2']);
    const vm1Ports = await cli.json<Port[]>('port', 'list', '--server', 'vm1');
    assert.equal(vm1Ports.length, 1);
  });

  it("attaches and detaches a port, and delete leaves only the user's ports", async () => {
    const { cli } = d;
    await cli.json<{ id: string }>('port', 'create', '--network', 'net1', 'p2');
    await cli.ok('server', 'add', 'port', 'vm1', 'p2');
    assert.equal((await cli.json<Port[]>('port', 'list', '--server', 'vm1')).length, 2);
    const addresses = (await cli.json<{ addresses: Record<string, string[]> }>('server', 'show', 'vm1')).addresses;
    assert.equal(addresses['net1']!.length, 2);
    assert.equal((await cli.json<{ status: string }>('port', 'show', 'p2')).status, 'ACTIVE');
    await cli.ok('server', 'remove', 'port', 'vm1', 'p2');
    assert.equal((await cli.json<Port[]>('port', 'list', '--server', 'vm1')).length, 1);
    const removed = await cli.json<{ device_id: string; status: string }>('port', 'show', 'p2');
    assert.deepEqual([removed.device_id, removed.status], ['', 'DOWN']);

    await cli.ok('server', 'delete', '--wait', 'vm1', 'vm2', 'vm3');
    const left = await cli.json<{ Name: string }[]>('port', 'list');
    // vm1's port is gone; p1 (vm2's, the user's) and p2 stay, unbound.
    assert.deepEqual(left.map((p) => p.Name).sort(), ['p1', 'p2']);
    assert.equal((await cli.json<{ device_id: string }>('port', 'show', 'p1')).device_id, '');
  });

  it("openstacksdk's create_server(wait=True) sees the server's address", async () => {
    const script = [
      'import openstack, json',
      'conn = openstack.connect()',
      "s = conn.create_server('sdk-vm', image='net-image', flavor='net.tiny', network='net1', wait=True, timeout=120)",
      "print(json.dumps({'status': s.status, 'ip': s.private_v4 or s.public_v4}))",
      "conn.delete_server('sdk-vm', wait=True)",
    ].join('\n');
    // The interpreter the CLI runs on, which has openstacksdk (another python3 may come first in PATH).
    const { stdout } = await run('/usr/bin/python3', ['-c', script], {
      env: { ...process.env, ...d.env },
      timeout: 180_000,
    });
    const result = JSON.parse(stdout) as { status: string; ip: string };
    assert.equal(result.status, 'ACTIVE');
    assert.match(result.ip, /^10\.80\.0\.\d+$/);
  });
});
