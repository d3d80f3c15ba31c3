/**
 * The metadata proxy on the Linux bridge datapath: guests (namespaces on the host namespace's bridges)
 * fetch http://169.254.169.254/ and the answers, from a stub metadata service on this machine that checks
 * the signature as Nova does, name the instance the host plugged at the guest's address. The datapath is
 * namespaced, so the proxy reaches the service through the socat relay in the host's namespace.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../../../src/common/package-root.ts';
import { planHost } from '../../../../src/compute/network/linux-bridge/host-plan.ts';
import { LinuxBridgeDriver } from '../../../../src/compute/network/linux-bridge/linux-bridge-driver.ts';
import { proxyNetworks } from '../../../../src/compute/network/linux-bridge/metadata.ts';
import { NetworkLab, network, rule, sh, vif } from '../../../helpers/network-lab.ts';

const SECRET = 'metadata test secret';

describe('metadata on the Linux bridge datapath', () => {
  const lab = new NetworkLab();
  let host: string;
  let stateDirectory: string;
  let driver: LinuxBridgeDriver;
  let service: Server;
  const seen: IncomingHttpHeaders[] = [];

  const net1 = network({ id: lab.id('m1'), projectId: 'p-one', cidr: '10.61.0.0/24', gateway: '10.61.0.1' });
  const net2 = network({ id: lab.id('m2'), projectId: 'p-two', cidr: '10.62.0.0/24', gateway: '10.62.0.1' });
  const rules = [rule('egress')];
  const v1 = vif({ id: lab.id('q1'), mac: 'fa:16:3e:00:61:11', network: net1, ip: '10.61.0.11', rules });
  const v2 = vif({ id: lab.id('q2'), mac: 'fa:16:3e:00:61:12', network: net1, ip: '10.61.0.12', rules });
  const v3 = vif({ id: lab.id('q3'), mac: 'fa:16:3e:00:62:13', network: net2, ip: '10.62.0.13', rules });
  const UUID1 = '11111111-aaaa-4aaa-8aaa-111111111111';
  const UUID2 = '22222222-aaaa-4aaa-8aaa-222222222222';
  const UUID3 = '33333333-aaaa-4aaa-8aaa-333333333333';
  let g1: string;
  let g2: string;
  let g3: string;

  /** curl in a guest; null when nothing answered (refused, dropped, timed out) or not with 2xx. */
  const fetchIn = (ns: string, url: string, ...options: string[]) =>
    sh(['ip', 'netns', 'exec', ns, 'curl', '-sf', '--max-time', '2', ...options, url]).catch(() => null);

  before(async () => {
    service = createServer((req, res) => {
      seen.push(req.headers);
      const id = String(req.headers['x-instance-id'] ?? '');
      if (req.headers['x-instance-id-signature'] !== createHmac('sha256', SECRET).update(id).digest('hex')) {
        res.writeHead(403).end();
        return;
      }
      if (req.url?.endsWith('/user_data')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`#!/bin/sh\necho user data of ${id}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ uuid: id, project_id: req.headers['x-tenant-id'], path: req.url }));
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    stateDirectory = join(await lab.directory, 'state');
    host = await lab.namespace('h');
    g1 = await lab.guest('g1', host, v1);
    g2 = await lab.guest('g2', host, v2);
    g3 = await lab.guest('g3', host, v3);
    driver = new LinuxBridgeDriver({
      physicalMappings: new Map(),
      namespace: host,
      stateDirectory,
      dhcpLeaseSeconds: 600,
      metadata: { upstream: `http://127.0.0.1:${(service.address() as AddressInfo).port}`, secret: SECRET },
    });
    await driver.plug(UUID1, [v1], {}, 'project-a');
    await driver.plug(UUID2, [v2], {}, 'project-a');
    await driver.plug(UUID3, [v3], {}, 'project-b');
    for (const guest of [g1, g2, g3]) assert.ok(await lab.dhcp(guest), `no lease in ${guest}`);
  });

  after(async () => {
    await driver.reconcile([]).catch(() => undefined);
    await lab.destroy();
    await new Promise<void>((resolve) => service.close(() => resolve()));
  });

  it('answers each guest with its own instance, signed, through its gateway', async () => {
    const expected = [
      [g1, UUID1, 'project-a'],
      [g2, UUID2, 'project-a'],
      [g3, UUID3, 'project-b'],
    ] as const;
    for (const [guest, uuid, project] of expected) {
      const body = await fetchIn(guest, 'http://169.254.169.254/openstack/latest/meta_data.json');
      assert.deepEqual(JSON.parse(body ?? 'null'), {
        uuid,
        project_id: project,
        path: '/openstack/latest/meta_data.json',
      });
    }
    assert.equal(seen.at(-1)!['x-forwarded-for'], '10.62.0.13');
  });

  it("lets the demo guest's boot script print its instance uuid and first line of user data", async () => {
    // scripts/guest-image/metadata as the guest runs it, with its console and /run in a directory.
    const run = join(await lab.directory, 'guest-run');
    await mkdir(join(run, 'net'), { recursive: true });
    await writeFile(join(run, 'net', 'eth0.address'), '10.62.0.13/24\n');
    const script = join(packageRoot(), 'scripts', 'guest-image', 'metadata');
    const consoleFile = join(run, 'console');
    await sh([
      'ip',
      'netns',
      'exec',
      g3,
      'env',
      `STRATUS_GUEST_CONSOLE=${consoleFile}`,
      `STRATUS_GUEST_RUN=${run}`,
      'busybox',
      'sh',
      script,
    ]);
    assert.deepEqual((await readFile(consoleFile, 'utf8')).split('\n'), [
      `stratus-metadata uuid=${UUID3}`,
      `stratus-user-data: #!/bin/sh`,
      '',
    ]);
  });

  it('gives nothing to a guest claiming another guest address, or reaching the listener directly', async () => {
    const before = seen.length;
    await sh(['ip', '-n', g2, 'addr', 'add', '10.61.0.11/32', 'dev', 'eth0']);
    try {
      const spoofed = await fetchIn(g2, 'http://169.254.169.254/', '--interface', '10.61.0.11');
      assert.equal(spoofed, null);
    } finally {
      await sh(['ip', '-n', g2, 'addr', 'del', '10.61.0.11/32', 'dev', 'eth0']);
    }
    const rules = await sh(['ip', 'netns', 'exec', host, 'nft', 'list', 'table', 'inet', 'stratus']);
    const ports = [...rules.matchAll(/dnat ip to 10\.6[12]\.0\.1:(\d+)/g)].map((m) => m[1]);
    assert.equal(ports.length, 2, rules);
    // Network 2's listener, reached from network 1 at its own gateway: its source would name no one there,
    // but a listener must never take a connection the redirect did not bring.
    for (const port of ports) assert.equal(await fetchIn(g1, `http://10.61.0.1:${port}/`), null);
    assert.equal(seen.length, before, 'the metadata service was asked nothing');
  });

  it('stops serving a guest once unplugged, and stops the proxy with the last guest', async () => {
    await driver.unplug(UUID1, [v1]);
    assert.equal(await fetchIn(g1, 'http://169.254.169.254/'), null);
    assert.ok(await fetchIn(g2, 'http://169.254.169.254/'), 'the other guests keep their metadata');
    await driver.reconcile([]);
    assert.equal(existsSync(join(stateDirectory, 'mdp')), false);
    assert.deepEqual(await NetworkLab.processesMentioning(join(stateDirectory, 'mdp')), []);
  });
});

describe("the metadata proxy's table", () => {
  it("lists the IPv4 addresses of this host's ports on networks where the host holds an address", () => {
    const lab = { id: (role: string) => `${role}`.padEnd(11, '0') + '-0000-4000-8000-000000000000' };
    const withGateway = network({ id: lab.id('a'), projectId: 'net-owner', cidr: '10.1.0.0/24', gateway: '10.1.0.1' });
    const noGateway = { ...network({ id: lab.id('b'), projectId: 'p', cidr: '10.2.0.0/24', gateway: '10.2.0.1' }) };
    noGateway.subnets = noGateway.subnets.map((s) => ({ ...s, gateway_ip: null }));
    const plan = planHost(
      [
        {
          instanceUuid: 'vm-1',
          projectId: 'guest-project',
          extraSpecs: {},
          vifs: [
            vif({ id: lab.id('p1'), mac: 'fa:16:3e:00:00:01', network: withGateway, ip: '10.1.0.5' }),
            vif({ id: lab.id('p2'), mac: 'fa:16:3e:00:00:02', network: noGateway, ip: '10.2.0.5' }),
          ],
        },
      ],
      new Map(),
    );
    assert.deepEqual(proxyNetworks(plan), [
      {
        id: withGateway.id,
        address: '10.1.0.1',
        guests: [{ ip: '10.1.0.5', instance_uuid: 'vm-1', project_id: 'guest-project' }],
      },
    ]);
  });
});
