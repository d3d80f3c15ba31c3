/**
 * Guest networking through the compute manager with the real pieces: the qemu driver and the Linux bridge
 * datapath, both inside a network namespace standing for the compute host (`[linux_bridge] namespace`).
 * Two demo guests built with a VIF each on one network take their addresses by DHCP (console lines) and
 * answer ping from the host's side, and ping and HTTP from a third port of the network (a veth 'guest'
 * namespace); a deleted guest leaves no tap, a restarted compute rebuilds a bridge removed meanwhile, and
 * once both are deleted no tap, bridge, dnsmasq, metadata proxy or rule of theirs is left. The guests read
 * their metadata through the host's proxy from a stub metadata service that checks Nova's signature, and
 * print their uuid and user data on the console. Everything is removed even when a step fails (the lab and
 * testbed hooks).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../../src/common/config/load-config.ts';
import { adminContext } from '../../../../src/common/context.ts';
import { ComputeManager } from '../../../../src/compute/manager.ts';
import { LinuxBridgeDriver } from '../../../../src/compute/network/linux-bridge/linux-bridge-driver.ts';
import type { QemuDriver } from '../../../../src/compute/virt/qemu/qemu-driver.ts';
import type { InstancePayload } from '../../../../src/wire/messages/instance-payload.ts';
import { PowerState, TaskState, VmState } from '../../../../src/wire/messages/instance-states.ts';
import type { Vif } from '../../../../src/wire/messages/network-info.ts';
import { GUEST_BOOT_WAIT_MS } from '../../../helpers/guest-image.ts';
import { NetworkLab, network, rule, sh, succeeds, vif } from '../../../helpers/network-lab.ts';
import { waitUntil } from '../../../helpers/processes.ts';
import { demoGuestInstance, qemuTestbed } from '../../../helpers/qemu-driver-fixtures.ts';
import { recordingConductor } from '../../../helpers/recording-conductor.ts';

const HOST = 'mgr-net-host';
const bed = qemuTestbed('stratus-mgr-net-');
const lab = new NetworkLab();
const ctx = adminContext();
const SECRET = 'manager networking secret';

describe('compute manager: guests on the Linux bridge datapath', () => {
  let hostNs: string;
  let stateDirectory: string;
  const onHost: InstancePayload[] = [];
  const datapaths: LinuxBridgeDriver[] = [];
  let metadataService: Server;

  const net = network({ id: lab.id('n1'), projectId: 'p1', cidr: '10.41.0.0/24', gateway: '10.41.0.1' });
  // Ingress from the network (the guests and the probe), ping and HTTP from anywhere (the host's side).
  const rules = [
    rule('egress'),
    rule('ingress', null, ['10.41.0.0/24']),
    rule('ingress', 'icmp', ['0.0.0.0/0']),
    rule('ingress', 'tcp', ['0.0.0.0/0'], [80, 80]),
  ];
  const port = (role: string, mac: string, ip: string): Vif => vif({ id: lab.id(role), mac, network: net, ip, rules });
  const vifA = port('pa', 'fa:16:3e:00:41:0a', '10.41.0.10');
  const vifB = port('pb', 'fa:16:3e:00:41:0b', '10.41.0.11');
  const probeVif = port('pp', 'fa:16:3e:00:41:0f', '10.41.0.15');

  async function compute(): Promise<{ manager: ComputeManager; driver: QemuDriver }> {
    const driver = await bed.driver(HOST, 'instances', { networkNamespace: hostNs });
    const datapath = new LinuxBridgeDriver({
      physicalMappings: new Map(),
      namespace: hostNs,
      stateDirectory,
      dhcpLeaseSeconds: 600,
      metadata: {
        upstream: `http://127.0.0.1:${(metadataService.address() as AddressInfo).port}`,
        secret: SECRET,
      },
    });
    datapaths.push(datapath);
    const config = loadConfig([], {
      DEFAULT: { host: HOST },
      compute: { vif_cache_directory: join(bed.work, 'vif_cache') },
    });
    const { conductor } = recordingConductor(onHost);
    return { manager: new ComputeManager(HOST, config, driver, datapath, conductor), driver };
  }

  const links = async (kind: 'bridge' | 'tun' | 'veth'): Promise<string> =>
    sh(['ip', '-n', hostNs, '-o', 'link', 'show', 'type', kind]);
  const ping = (ns: string, ip: string) =>
    succeeds(['ip', 'netns', 'exec', ns, 'busybox', 'ping', '-c', '1', '-W', '5', ip]);
  const page = (ns: string, ip: string) =>
    sh(['ip', 'netns', 'exec', ns, 'curl', '-sf', '--max-time', '10', `http://${ip}/`]);

  async function waitForAddress(driver: QemuDriver, uuid: string, ip: string): Promise<void> {
    const line = `stratus-guest: eth0 up ${ip}/24`;
    await waitUntil(
      `"${line}" on the console of ${uuid}`,
      async () => (await driver.getConsoleOutput(uuid)).includes(line),
      GUEST_BOOT_WAIT_MS,
    );
  }

  before(async () => {
    // A stub of the metadata service: it believes X-Instance-ID only with a valid signature, as Nova does.
    metadataService = createServer((req, res) => {
      const id = String(req.headers['x-instance-id'] ?? '');
      if (req.headers['x-instance-id-signature'] !== createHmac('sha256', SECRET).update(id).digest('hex')) {
        res.writeHead(403).end();
      } else if (req.url === '/openstack/latest/user_data') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`user data of ${id}\nsecond line\n`);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ uuid: id, name: 'x' }));
      }
    });
    await new Promise<void>((resolve) => metadataService.listen(0, '127.0.0.1', resolve));
    stateDirectory = join(await lab.directory, 'state');
    hostNs = await lab.namespace('h');
  });

  after(async () => {
    // The testbed's hook destroys the guests; the datapath's objects and the namespaces go here.
    for (const datapath of datapaths) await datapath.reconcile([]).catch(() => undefined);
    await lab.destroy();
    await new Promise<void>((resolve) => metadataService.close(() => resolve()));
  });

  it('builds, connects, deletes, and rebuilds the datapath at restart', async () => {
    const first = await compute();
    const a = demoGuestInstance(HOST);
    const b = demoGuestInstance(HOST);
    for (const guest of [a, b]) guest.task_state = TaskState.SCHEDULING;
    await Promise.all([
      first.manager.buildAndRunInstance(ctx, a, HOST, [], 1, [vifA]),
      first.manager.buildAndRunInstance(ctx, b, HOST, [], 1, [vifB]),
    ]);
    assert.equal(first.driver.powerState(a.uuid), PowerState.RUNNING, 'guest A was built');
    assert.equal(first.driver.powerState(b.uuid), PowerState.RUNNING, 'guest B was built');
    await Promise.all([
      waitForAddress(first.driver, a.uuid, '10.41.0.10'),
      waitForAddress(first.driver, b.uuid, '10.41.0.11'),
    ]);

    // Each guest read its own metadata through the host's proxy.
    for (const guest of [a, b]) {
      for (const line of [`stratus-metadata uuid=${guest.uuid}`, `stratus-user-data: user data of ${guest.uuid}`]) {
        await waitUntil(
          `"${line}" on the console`,
          async () => (await first.driver.getConsoleOutput(guest.uuid)).includes(line),
          GUEST_BOOT_WAIT_MS,
        );
      }
    }

    // The host's side of the network (the gateway address on the bridge) reaches both guests.
    assert.ok(await ping(hostNs, '10.41.0.10'));
    assert.ok(await ping(hostNs, '10.41.0.11'));
    // A third port of the network: a namespace on a veth, plugged as a port of its own.
    const probe = await lab.guest('pr', hostNs, probeVif);
    await first.manager.networking.datapath.plug('probe', [probeVif], {}, 'project');
    await sh(['ip', '-n', probe, 'addr', 'add', '10.41.0.15/24', 'dev', 'eth0']);
    assert.ok(await ping(probe, '10.41.0.10'), 'the probe reaches guest A across the bridge');
    assert.ok(await ping(probe, '10.41.0.11'), 'the probe reaches guest B across the bridge');
    // httpd starts beside the DHCP client: the page may take a moment more than the address.
    const served = await waitUntil(
      'the HTTP page of guest B',
      () => page(probe, '10.41.0.11').catch(() => null),
      30_000,
    );
    assert.match(served, /eth0 10\.41\.0\.11\/24/);
    await first.manager.networking.datapath.unplug('probe', [probeVif]);

    await first.manager.terminateInstance(ctx, { ...a, task_state: TaskState.DELETING });
    assert.ok(!(await links('tun')).includes(vifA.devname), "guest A's tap is gone");
    assert.ok(await ping(hostNs, '10.41.0.11'), 'guest B is still reachable');

    // The compute restarts (its guests keep running); meanwhile the network's bridge was removed.
    await first.manager.shutdown();
    await sh(['ip', '-n', hostNs, 'link', 'del', net.bridge]);
    assert.equal(await ping(hostNs, '10.41.0.11'), false, 'without its bridge guest B is cut off');
    onHost.push({ ...b, vm_state: VmState.ACTIVE, task_state: null, power_state: PowerState.RUNNING });
    const second = await compute();
    await second.manager.initHost();
    assert.ok((await links('bridge')).includes(net.bridge), 'reconcile made the bridge again');
    assert.ok(await ping(hostNs, '10.41.0.11'), 'guest B is reachable again, still running the same qemu');
    assert.equal(second.driver.powerState(b.uuid), PowerState.RUNNING);

    await second.manager.terminateInstance(ctx, { ...b, task_state: TaskState.DELETING });
    onHost.length = 0;
    assert.ok(!(await links('bridge')).includes(net.bridge), 'no bridge left');
    const taps = await links('tun');
    assert.ok(!taps.includes(vifA.devname) && !taps.includes(vifB.devname), 'no tap left');
    assert.deepEqual(await NetworkLab.processesMentioning(stateDirectory), [], 'no dnsmasq or metadata proxy left');
    const ruleset = await sh(['ip', 'netns', 'exec', hostNs, 'nft', 'list', 'ruleset']);
    for (const name of [vifA.devname, vifB.devname, '10.41.0.10', '10.41.0.11']) {
      assert.ok(!ruleset.includes(name), `no nftables rule names ${name}`);
    }
  });
});
