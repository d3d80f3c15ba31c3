/**
 * Guest networking across two compute hosts, driven by the real `openstack` CLI on a multi-process cloud
 * (RabbitMQ, MariaDB) whose two compute processes stand for two qemu hosts, each with its datapath in a
 * network namespace of its own (`[linux_bridge] namespace`), joined by two veths that are the wires of
 * the physical networks `physnet1` and `physnet2`. The admin puts each project's network flat on one of
 * them (flat, not VLAN: kernels without 8021q, this machine's among them, have no VLAN devices). Project A has a
 * guest on each host (`--host`, 2.74): the two reach each other over the wire (ping, and TCP: each
 * fetches the other's page), each served DHCP by its own host. Project B's guest, on its own network,
 * reaches neither of them, nor they it, on its host or across the wire.
 *
 * What a guest reaches is asked of the demo image's CGI probes (guest-probes.ts), each guest from the
 * datapath namespace of its own host, which holds its subnet's gateway address.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killGuests, qemuDatapathHostLines, startMultiProcess, type Deployment } from '../helpers/deployments.ts';
import { GUEST_BOOT_WAIT_MS, uploadGuestImage } from '../helpers/guest-image.ts';
import { guestReaches } from '../helpers/guest-probes.ts';
import { NetworkLab, sh } from '../helpers/network-lab.ts';
import { OpenstackCli, type ServerPlacement } from '../helpers/openstack-cli.ts';
import { waitUntil } from '../helpers/processes.ts';

const A = 'mh-a';
const B = 'mh-b';
const SUBNET_A = '10.232.1';
const SUBNET_B = '10.232.2';

interface Guest {
  id: string;
  ip: string;
  host: string;
}

describe('openstack CLI: one network across two qemu hosts', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  const lab = new NetworkLab();
  /** Each host's datapath namespace. */
  const datapath: Record<string, string> = {};
  const instances = (host: string) => join(dir, `${host}-instances`);
  const guests = {} as Record<'a1' | 'a2' | 'b', Guest>;

  /** Guest `from` (asked from its own host's datapath) runs `probe` to `to`. */
  const reaches = (from: Guest, probe: 'ping' | 'fetch', to: string) =>
    guestReaches(datapath[from.host]!, from.ip, probe, to);

  /** The admin, scoped to `project` (an admin there, so it may name the host). */
  const adminOf = (project: string) => new OpenstackCli({ ...d.env, OS_PROJECT_NAME: project });

  /** Boots the demo guest on `host`, on project `key`'s network and group, and waits for its console to say it got its port's address by DHCP. */
  async function boot(cli: OpenstackCli, name: string, key: 'a' | 'b', host: string): Promise<Guest> {
    const created = await cli.createServerAndWait(
      ...['--os-compute-api-version', '2.74', '--host', host, '--network', `mh-net-${key}`],
      ...['--security-group', `mh-sg-${key}`],
      ...['--image', 'guest', '--flavor', 'guest.tiny', name],
    );
    const shown = await cli.json<ServerPlacement & { addresses: unknown }>('server', 'show', created.id);
    assert.equal(shown['OS-EXT-SRV-ATTR:host'], host);
    const ip = /\b\d{1,3}(?:\.\d{1,3}){3}\b/.exec(JSON.stringify(shown.addresses))![0];
    await waitUntil(
      `${name}'s console shows its DHCP address`,
      async () => (await cli.ok('console', 'log', 'show', created.id)).includes(`stratus-guest: eth0 up ${ip}/24`),
      GUEST_BOOT_WAIT_MS,
      () => d.group.outputs(),
    );
    return { id: created.id, ip, host };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-multihost-'));
    // Each host's datapath in a namespace of its own, its dnsmasq state in the lab's directory (the lab
    // ends the processes that name it), the two joined by the physical networks' wires: removed last.
    const labDir = await lab.directory;
    datapath[A] = await lab.namespace('ha');
    datapath[B] = await lab.namespace('hb');
    for (const n of [1, 2]) await lab.wire(datapath[A], `physa${n}`, datapath[B], `physb${n}`);
    const side: Record<string, string> = { [A]: 'a', [B]: 'b' };
    d = await startMultiProcess(dir, cleanup, {
      computeHosts: [A, B],
      computeConfig: (host) =>
        qemuDatapathHostLines({
          instancesPath: instances(host),
          namespace: datapath[host]!,
          stateDirectory: join(labDir, host),
          physicalInterfaceMappings: [1, 2].map((n) => `physnet${n}:phys${side[host]}${n}`),
        }),
    });
    // Guests are daemons that outlive a killed compute service: end any a failed test left running.
    cleanup.push(async () => [A, B].forEach((host) => killGuests(instances(host))));
    cleanup.push(() => lab.destroy());
    const { cli } = d;
    await uploadGuestImage(cli, 'guest');
    await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
    const clis: Record<'a' | 'b', OpenstackCli> = {} as Record<'a' | 'b', OpenstackCli>;
    for (const [key, subnet, physnet] of [
      ['a', SUBNET_A, 'physnet1'],
      ['b', SUBNET_B, 'physnet2'],
    ] as const) {
      const project = `mh-proj-${key}`;
      await cli.ok('project', 'create', project);
      await cli.ok('role', 'add', '--user', 'admin', '--project', project, 'admin');
      const admin = adminOf(project);
      clis[key] = admin;
      // The project's network flat on a physical network of its own, the same wire on every host.
      await admin.ok(
        ...['network', 'create', '--provider-network-type', 'flat', '--provider-physical-network', physnet],
        `mh-net-${key}`,
      );
      await admin.ok(
        'subnet',
        'create',
        '--network',
        `mh-net-${key}`,
        '--subnet-range',
        `${subnet}.0/24`,
        `mh-sub-${key}`,
      );
      // ICMP from anywhere (what stops a ping below is isolation, not a missing rule), and the probes'
      // HTTP from the subnet: the host's gateway address and the other guests.
      const group = `mh-sg-${key}`;
      await admin.ok('security', 'group', 'create', group);
      await admin.ok('security', 'group', 'rule', 'create', '--protocol', 'icmp', '--remote-ip', '0.0.0.0/0', group);
      await admin.ok(
        ...['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '80'],
        ...['--remote-ip', `${subnet}.0/24`, group],
      );
    }
    [guests.a1, guests.a2, guests.b] = await Promise.all([
      boot(clis.a, 'mh-a1', 'a', A),
      boot(clis.a, 'mh-a2', 'a', B),
      boot(clis.b, 'mh-b1', 'b', B),
    ]);
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets a network's guests on two hosts reach each other over the physical network", async () => {
    const { a1, a2 } = guests;
    assert.ok(a1.ip.startsWith(`${SUBNET_A}.`) && a2.ip.startsWith(`${SUBNET_A}.`));
    assert.equal(await reaches(a1, 'ping', a2.ip), true);
    assert.equal(await reaches(a2, 'ping', a1.ip), true);
    assert.equal(await reaches(a1, 'fetch', a2.ip), true);
    assert.equal(await reaches(a2, 'fetch', a1.ip), true);
  });

  it('keeps each guest on its own host as gateway and DHCP server', async () => {
    for (const guest of [guests.a1, guests.a2]) {
      assert.equal(await reaches(guest, 'ping', `${SUBNET_A}.1`), true);
    }
    // Host A never heard A2 ask for the gateway, nor host B A1: each would have learned the address.
    const neighbour = (host: string, ip: string) => sh(['ip', '-n', datapath[host]!, 'neigh', 'show', ip]);
    assert.equal((await neighbour(A, guests.a2.ip)).trim(), '');
    assert.equal((await neighbour(B, guests.a1.ip)).trim(), '');
  });

  it("keeps another project's guest apart, on its host and across the wire", async () => {
    const { a1, a2, b } = guests;
    // B's probes work: it reaches its own gateway.
    assert.equal(await reaches(b, 'ping', `${SUBNET_B}.1`), true);
    for (const target of [a1, a2]) {
      assert.equal(await reaches(b, 'ping', target.ip), false, `${b.ip} pings ${target.ip}`);
      assert.equal(await reaches(b, 'fetch', target.ip), false, `${b.ip} fetches from ${target.ip}`);
      assert.equal(await reaches(target, 'ping', b.ip), false, `${target.ip} pings ${b.ip}`);
    }
  });

  it('leaves nothing on either host once the servers are deleted', async () => {
    await adminOf('mh-proj-a').ok('server', 'delete', '--wait', guests.a1.id, guests.a2.id);
    await adminOf('mh-proj-b').ok('server', 'delete', '--wait', guests.b.id);
    for (const host of [A, B]) {
      const links = await sh(['ip', '-n', datapath[host]!, '-o', 'link', 'show']);
      assert.doesNotMatch(links, /\d+: (tap|brq)/, `${host} keeps devices`);
      assert.doesNotMatch(links, /master/, `${host} keeps a wire in a bridge`);
      assert.doesNotMatch(await sh(['ip', 'netns', 'exec', datapath[host]!, 'nft', 'list', 'tables']), /stratus/);
    }
    assert.deepEqual(await NetworkLab.processesMentioning(await lab.directory), []);
  });
});
