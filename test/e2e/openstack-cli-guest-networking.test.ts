/**
 * Guest networking end to end, as users would drive it with the real `openstack` CLI, on all-in-one with
 * real qemu guests (TCG): an admin's external flat network, a user's network, subnet and router, guests
 * that get their port's address by DHCP, reach each other, cannot reach another project's guest, cannot
 * send from a spoofed address, and are reached from "outside" through floating IPs only while a security
 * group rule allows it; a guest reaches its own floating IP too; deleting the servers leaves nothing on
 * the host.
 *
 * The datapath lives in a namespace this test makes (`[linux_bridge] namespace`), so the machine's own
 * namespace is never changed; a veth to a second namespace ("outside") is the external network's wire.
 * What a guest reaches is asked of the demo image's CGI probes (/cgi-bin/ping, /cgi-bin/spoof-ping),
 * fetched from the datapath namespace, where the host holds each subnet's gateway address.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAllInOne, waitStatus, type Deployment } from '../helpers/deployments.ts';
import { GUEST_BOOT_WAIT_MS } from '../helpers/guest-image.ts';
import { guestReaches, httpGet, pings } from '../helpers/guest-probes.ts';
import { NetworkLab } from '../helpers/network-lab.ts';
import { createExternalNetwork, inNs, makeOutsideWorld } from '../helpers/outside-world.ts';
import { OpenstackCli } from '../helpers/openstack-cli.ts';
import { waitUntil } from '../helpers/processes.ts';

/** The datapath's namespace (the compute host's network stack) and the outside world's (outside-world.ts). */
let datapathNs = '';
let outsideNs = '';
const SUBNET_A = '192.168.51';
const SUBNET_B = '192.168.52';
/** An address of SUBNET_A no port holds: what guest A pretends to be. */
const SPOOFED = `${SUBNET_A}.250`;

/** Asks guest `from` (by its fixed address, from the datapath namespace) whether it pings `to`. */
async function guestPings(from: string, to: string): Promise<boolean> {
  return guestReaches(datapathNs, from, 'ping', to);
}

async function guestSpoofPings(from: string, source: string, to: string): Promise<boolean> {
  return guestReaches(datapathNs, from, 'spoof-ping', to, `${source}&${to}`);
}

function ipv4s(value: unknown): string[] {
  return [...JSON.stringify(value).matchAll(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g)].map((m) => m[0]).sort();
}

function p50(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

type Port = { ID: string; 'Fixed IP Addresses': unknown };

interface Guest {
  id: string;
  ip: string;
  portId: string;
  /** Milliseconds from the create's POST to the guest answering ping on its fixed address. */
  fixedMs: number;
}

describe('openstack CLI: guest networking with real guests (qemu driver)', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let alice: OpenstackCli;
  let bob: OpenstackCli;
  const guests: Record<'a' | 'b' | 'c', Guest> = {} as Record<'a' | 'b' | 'c', Guest>;
  let floatingA = '';
  let floatingAMs = 0;
  const floatingMs: number[] = [];

  /**
   * Boots a server and waits for it to answer ping on its fixed address (from the datapath namespace)
   * and, given one, on its floating address (from outside), timing both from the create's POST; then for
   * its ACTIVE status and the console line of its DHCP lease. The create does not `--wait`: the CLI polls
   * only every few seconds, which would hide when the guest first answered.
   */
  async function boot(cli: OpenstackCli, name: string, nic: string[], floating?: string): Promise<Guest> {
    const posted = Date.now();
    const args = ['--image', 'stratus-guest', '--flavor', 'guest.tiny', ...nic, name];
    const server = await cli.json<{ id: string }>('server', 'create', ...args);
    const port = await waitUntil(
      `${name}'s port`,
      async () => (await cli.json<Port[]>('port', 'list', '--server', server.id))[0],
      GUEST_BOOT_WAIT_MS,
    );
    const ip = ipv4s(port['Fixed IP Addresses'])[0]!;
    const answered = (ns: string, address: string) =>
      waitUntil(`${name} answers on ${address}`, () => pings(ns, address), GUEST_BOOT_WAIT_MS).then(
        () => Date.now() - posted,
      );
    const [fixedMs, floatingAnswerMs] = await Promise.all([
      answered(datapathNs, ip),
      floating ? answered(outsideNs, floating) : Promise.resolve(null),
    ]);
    if (floatingAnswerMs !== null) floatingMs.push(floatingAnswerMs);
    await waitStatus(cli, server.id, 'ACTIVE', GUEST_BOOT_WAIT_MS);
    assert.equal((await cli.json<Port[]>('port', 'list', '--server', server.id)).length, 1);
    // The console says the address came by DHCP (the guest's udhcpc script prints it once bound).
    await waitUntil(
      `${name}'s console shows its DHCP address`,
      async () => (await cli.ok('console', 'log', 'show', server.id)).includes(`stratus-guest: eth0 up ${ip}/24`),
      30_000,
    );
    return { id: server.id, ip, portId: port.ID, fixedMs };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-guestnet-'));
    // Namespaces first, removed last (after the cloud and its guests are gone).
    const world = await makeOutsideWorld(cleanup);
    ({ datapathNs, outsideNs } = world);
    d = await startAllInOne(dir, cleanup, {
      driver: 'qemu',
      datapath: { namespace: datapathNs, physicalInterfaceMappings: [`extnet:${world.uplink}`] },
    });
    const { cli } = d;
    await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
    for (const [project, user] of [
      ['proj-a', 'alice'],
      ['proj-b', 'bob'],
    ]) {
      await cli.ok('project', 'create', project!);
      await cli.ok('user', 'create', '--password', 'secret', user!);
      await cli.ok('role', 'add', '--user', user!, '--project', project!, 'member');
    }
    const as = (user: string, project: string) =>
      new OpenstackCli({ ...d.env, OS_USERNAME: user, OS_PASSWORD: 'secret', OS_PROJECT_NAME: project });
    alice = as('alice', 'proj-a');
    bob = as('bob', 'proj-b');

    // The admin's external network: flat on the uplink, floating IPs from .10-.99.
    await createExternalNetwork(cli);

    // Alice's network, routed to the external one.
    await alice.ok('network', 'create', 'net-a');
    await alice.ok('subnet', 'create', '--network', 'net-a', '--subnet-range', `${SUBNET_A}.0/24`, 'sub-a');
    await alice.ok('router', 'create', 'router-a');
    await alice.ok('router', 'set', '--external-gateway', 'public', 'router-a');
    await alice.ok('router', 'add', 'subnet', 'router-a', 'sub-a');
    // Bob's network: no router, another project.
    await bob.ok('network', 'create', 'net-b');
    await bob.ok('subnet', 'create', '--network', 'net-b', '--subnet-range', `${SUBNET_B}.0/24`, 'sub-b');

    // Both projects let ICMP in from anywhere (so that what stops a ping below is isolation or
    // anti-spoofing, not a missing rule), and the probes' HTTP from the host's gateway address only.
    for (const [user, subnet] of [
      [alice, SUBNET_A],
      [bob, SUBNET_B],
    ] as const) {
      await user.ok('security', 'group', 'rule', 'create', '--protocol', 'icmp', '--remote-ip', '0.0.0.0/0', 'default');
      await user.ok(
        ...['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '80'],
        ...['--remote-ip', `${subnet}.1/32`, 'default'],
      );
    }

    // Guest A on a port of its own with a floating IP from the start; B on the network; C in Bob's.
    const portA = await alice.json<{ id: string }>('port', 'create', '--network', 'net-a', 'port-a');
    floatingA = (
      await alice.json<{ floating_ip_address: string }>('floating', 'ip', 'create', '--port', portA.id, 'public')
    ).floating_ip_address;
    // The three boot at once: one after the other, the guests' emulated boots made this file the
    // longest of the test run. The times measured are then those of three guests booting together.
    [guests.a, guests.b, guests.c] = await Promise.all([
      boot(alice, 'vm-a', ['--port', portA.id], floatingA),
      boot(alice, 'vm-b', ['--network', 'net-a']),
      boot(bob, 'vm-c', ['--network', 'net-b']),
    ]);
    floatingAMs = floatingMs[0]!;
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives each guest its port address by DHCP, as server show and port list say', async (t) => {
    const { a, b, c } = guests;
    assert.ok(a.ip.startsWith(`${SUBNET_A}.`) && b.ip.startsWith(`${SUBNET_A}.`) && c.ip.startsWith(`${SUBNET_B}.`));
    for (const [cli, guest, floating] of [
      [alice, a, [floatingA]],
      [alice, b, []],
      [bob, c, []],
    ] as const) {
      const shown = await cli.json<{ addresses: unknown }>('server', 'show', guest.id);
      const ports = await cli.json<{ 'Fixed IP Addresses': unknown }[]>('port', 'list', '--server', guest.id);
      assert.deepEqual(
        ipv4s(shown.addresses),
        [...ipv4s(ports.map((p) => p['Fixed IP Addresses'])), ...floating].sort(),
      );
    }
    const fixed = [a.fixedMs, b.fixedMs, c.fixedMs];
    t.diagnostic(
      `POST to answering ping on the fixed IP (ms): ${fixed.join(', ')}, p50 ${p50(fixed)}; ` +
        `on the floating IP: ${floatingAMs}`,
    );
  });

  it('lets guests of one network reach each other', async () => {
    assert.equal(await guestPings(guests.a.ip, guests.b.ip), true);
    assert.equal(await guestPings(guests.b.ip, guests.a.ip), true);
  });

  it("keeps another project's guest apart", async () => {
    // C's probe works: it reaches its own gateway.
    assert.equal(await guestPings(guests.c.ip, `${SUBNET_B}.1`), true);
    assert.equal(await guestPings(guests.c.ip, guests.a.ip), false);
    assert.equal(await guestPings(guests.a.ip, guests.c.ip), false);
  });

  it('lets a guest reach its own floating IP (hairpin)', async () => {
    // Through the host's 1:1 NAT and back over the same bridge port, answered from the floating address.
    assert.equal(await guestPings(guests.a.ip, floatingA), true);
  });

  it('drops what a guest sends from an address not its own', async () => {
    assert.equal(await guestPings(guests.a.ip, guests.b.ip), true);
    // The probe itself works: "spoofing" the guest's own address (a second, /32 entry) gets through.
    assert.equal(await guestSpoofPings(guests.a.ip, guests.a.ip, guests.b.ip), true);
    assert.equal(await guestSpoofPings(guests.a.ip, SPOOFED, guests.b.ip), false);
    assert.equal(await guestSpoofPings(guests.a.ip, guests.c.ip, guests.b.ip), false);
  });

  it('reaches a floating IP from outside only while a security group rule allows it', async () => {
    const page = () => httpGet(outsideNs, `http://${floatingA}/`);
    assert.equal(await pings(outsideNs, floatingA), true);
    assert.equal(await page(), null, 'port 80 is closed to the outside before the rule');
    const rule = await alice.json<{ id: string }>(
      ...['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '80'],
      ...['--remote-ip', '0.0.0.0/0', 'default'],
    );
    await waitUntil(
      'the page through the floating IP',
      async () => (await page())?.includes(guests.a.ip) ?? false,
      30_000,
    );
    await alice.ok('security', 'group', 'rule', 'delete', rule.id);
    await waitUntil('the floating IP closed again', async () => (await page()) === null, 30_000);
  });

  it('maps a floating IP associated with a running guest', async () => {
    const floating = await alice.json<{ floating_ip_address: string }>(
      ...['floating', 'ip', 'create', '--port', guests.b.portId, 'public'],
    );
    await waitUntil(
      `${floating.floating_ip_address} answers`,
      () => pings(outsideNs, floating.floating_ip_address),
      30_000,
    );
  });

  it('leaves nothing on the host once the servers are deleted', async () => {
    await alice.ok('server', 'delete', '--wait', guests.a.id, guests.b.id);
    await bob.ok('server', 'delete', '--wait', guests.c.id);
    const links = await inNs(datapathNs, ['ip', '-o', 'link', 'show']);
    const devices = [...links.matchAll(/^\d+: ([^:@]+)/gm)].map((m) => m[1]!);
    assert.deepEqual(
      devices.filter((name) => /^(tap|brq)/.test(name)),
      [],
    );
    assert.doesNotMatch(await inNs(datapathNs, ['nft', 'list', 'tables']), /stratus/);
    assert.deepEqual((await NetworkLab.processesMentioning(join(dir, 'linux_bridge'))).filter(isDnsmasq), []);
    // The ports the cloud made went with their servers; Alice's own port stays, unbound.
    const ports = await d.cli.json<{ ID: string; 'Device Owner': string }[]>('port', 'list', '--long');
    assert.deepEqual(
      ports.filter((p) => p['Device Owner'].startsWith('compute:')),
      [],
    );
    const own = await alice.json<{ device_id: string; status: string }>('port', 'show', guests.a.portId);
    assert.equal(own.device_id, '');
  });
});

function isDnsmasq(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dnsmasq';
  } catch {
    return false;
  }
}
