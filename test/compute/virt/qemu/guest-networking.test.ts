/**
 * Real guests on a real network: the demo guest spawned with a NIC on a bridge the test makes gets its
 * address from dnsmasq by DHCP (its console says so), answers ping, HTTP and TCP echo from the host; a NIC
 * hot-plugged into the running guest comes up too, both NICs survive a power cycle (guest.json), the
 * hot-plugged one is unplugged again and comes back with a hard reboot given both. A second guest runs with its qemu inside a network namespace.
 * Every wait is for an event (a console line, an answer), never a fixed duration.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { QemuDriver } from '../../../../src/compute/virt/qemu/qemu-driver.ts';
import { PowerState } from '../../../../src/wire/messages/instance-states.ts';
import { GUEST_BOOT_WAIT_MS } from '../../../helpers/guest-image.ts';
import { createGuestNetwork, GUEST_NETWORK_MTU, type GuestNetwork } from '../../../helpers/guest-network.ts';
import { demoGuestInstance, qemuTestbed } from '../../../helpers/qemu-driver-fixtures.ts';
import { waitUntil } from '../../../helpers/processes.ts';

const HOST = 'qemu-net-host';
const bed = qemuTestbed('stratus-qemu-net-');
const networks: GuestNetwork[] = [];

after(async () => {
  // The testbed's hook destroys the guests; the networks go here, whatever state a failure left them in.
  for (const network of networks) await network.remove();
});

async function newNetwork(namespace = false): Promise<GuestNetwork> {
  const network = await createGuestNetwork({ namespace });
  networks.push(network);
  return network;
}

/** How often `line` is on the guest's console. */
async function consoleCount(driver: QemuDriver, uuid: string, line: string): Promise<number> {
  return (await driver.getConsoleOutput(uuid)).split(line).length - 1;
}

async function waitForConsole(
  driver: QemuDriver,
  network: GuestNetwork,
  uuid: string,
  line: string,
  count = 1,
): Promise<void> {
  await waitUntil(
    `"${line}" ${count}x on the console of ${uuid}`,
    async () => (await consoleCount(driver, uuid, line)) >= count,
    GUEST_BOOT_WAIT_MS,
    () => `dnsmasq:\n${network.dnsmasqLog().slice(-2000)}`,
  );
}

/** busybox ping (busybox-static is installed for the guest image anyway), from the network's side. */
async function ping(network: GuestNetwork, ip: string): Promise<void> {
  await network.exec('busybox', ['ping', '-c', '1', '-W', '5', ip]);
}

/** One round trip through the guest's TCP echo service (port 7). */
function echo(ip: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ip, port: 7 });
    let received = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no echo from ${ip} within 10 s`)));
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.length >= text.length) socket.end();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('qemu guest networking', () => {
  it('boots a guest that takes its DHCP address and answers ping, HTTP and echo; hot-plugs and unplugs a NIC', async () => {
    const network = await newNetwork();
    const driver = await bed.driver(HOST);
    const first = await network.addPort('vm-alpha');
    const guest = demoGuestInstance(HOST);
    await driver.spawn(guest, HOST, [first.vif]);
    await waitForConsole(driver, network, guest.uuid, `stratus-guest: eth0 up ${first.ip}/24`);

    await ping(network, first.ip);
    const page = await (await fetch(`http://${first.ip}/`)).text();
    assert.match(page, /^stratus-guest vm-alpha$/m, 'the page names the guest by its DHCP hostname');
    assert.match(page, new RegExp(`^eth0 ${first.ip}/24 mtu ${GUEST_NETWORK_MTU}$`, 'm'), 'address and MTU');
    assert.match(page, new RegExp(`^route default via ${network.gateway} dev eth0`, 'm'), 'option 121 route');
    assert.equal(await echo(first.ip, 'hello guest\n'), 'hello guest\n');

    // A second NIC while the guest runs: QMP hot-plug, DHCP in the guest.
    const second = await network.addPort('vm-alpha');
    await driver.attachInterface(guest.uuid, second.vif);
    await driver.attachInterface(guest.uuid, second.vif);
    await waitForConsole(driver, network, guest.uuid, `stratus-guest: eth1 up ${second.ip}/24`);
    await ping(network, second.ip);
    const spec = JSON.parse(await readFile(join(bed.work, 'instances', guest.uuid, 'guest.json'), 'utf8')) as {
      nics: { portId: string; mac: string; tap: string }[];
    };
    assert.deepEqual(
      spec.nics.map((nic) => [nic.portId, nic.mac, nic.tap]),
      [first.vif, second.vif].map((vif) => [vif.id, vif.mac_address, vif.devname]),
      'guest.json records both NICs in order',
    );

    // A new qemu (power off, power on) gets both NICs from guest.json, in the same order.
    await driver.powerOff(guest.uuid, 60);
    await driver.powerOn(guest.uuid);
    await waitForConsole(driver, network, guest.uuid, `stratus-guest: eth0 up ${first.ip}/24`, 2);
    await waitForConsole(driver, network, guest.uuid, `stratus-guest: eth1 up ${second.ip}/24`, 2);

    // Unplugged: the guest releases it, its DHCP client stops, the tap stays for the datapath to remove.
    await driver.detachInterface(guest.uuid, second.vif);
    await waitForConsole(driver, network, guest.uuid, 'stratus-guest: eth1 gone');
    await driver.detachInterface(guest.uuid, second.vif);
    await network.exec('ip', ['link', 'show', second.vif.devname]);
    await ping(network, first.ip);
    assert.match(await (await fetch(`http://${first.ip}/`)).text(), /^eth0 /m);
    assert.doesNotMatch(await (await fetch(`http://${first.ip}/`)).text(), /^eth1 /m);

    // A hard reboot given other NICs than the guest has needs a new qemu (a reset keeps the devices).
    await driver.reboot(guest.uuid, 'HARD', [first.vif, second.vif]);
    await waitForConsole(driver, network, guest.uuid, `stratus-guest: eth1 up ${second.ip}/24`, 3);
    await ping(network, second.ip);

    await driver.destroy(guest.uuid);
    assert.equal(driver.powerState(guest.uuid), PowerState.NOSTATE);
  });

  it('runs qemu inside the datapath network namespace, where the guest gets its address', async () => {
    const network = await newNetwork(true);
    const driver = await bed.driver(HOST, 'instances-netns', { networkNamespace: network.namespace });
    const port = await network.addPort('vm-beta');
    const guest = demoGuestInstance(HOST);
    await driver.spawn(guest, HOST, [port.vif]);
    await waitForConsole(driver, network, guest.uuid, `stratus-guest: eth0 up ${port.ip}/24`);
    // The tap is only in the namespace: qemu could open it only from inside.
    const pid = Number(await readFile(join(bed.work, 'instances-netns', guest.uuid, 'qemu.pid'), 'utf8'));
    const { stdout } = await network.exec('readlink', [`/proc/${pid}/ns/net`]);
    const { stdout: own } = await network.exec('readlink', ['/proc/self/ns/net']);
    assert.equal(stdout.trim(), own.trim(), 'qemu runs in the namespace');
    await ping(network, port.ip);
    const { stdout: page } = await network.exec('busybox', ['wget', '-q', '-O', '-', `http://${port.ip}/`]);
    assert.match(page, /^stratus-guest vm-beta$/m);
    await driver.destroy(guest.uuid);
  });
});
