/**
 * Live migration of a real guest with a port, driven by the real `openstack` CLI on a multi-process cloud
 * (RabbitMQ, MariaDB) whose two compute processes stand for two qemu hosts, each with its own instance
 * directory, image cache and datapath namespace (`[linux_bridge] namespace`, qemu running inside it). The
 * namespaces are joined by a veth that is the wire of the physical network the guest's flat network is on,
 * and by another that is the hosts' management network: each end's address is its host's
 * `[qemu] live_migration_inbound_addr`, where its qemu listens for an incoming guest (the NBD export of its
 * disks, the state), as a real host's qemu listens on its management NIC.
 *
 * The demo guest boots on host A; `server migrate --live-migration --host B` (2.30) moves it while it runs:
 * the server ends ACTIVE on B, the migration completed, its port bound to B, and the guest did not boot
 * again there, yet runs and answers on its fixed address from B's datapath (its gateway), where it also
 * reaches its gateway itself; the guest answers the power button there when the server is stopped. A keeps
 * no qemu, no instance directory, no tap and no rule of it.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killGuests, qemuDatapathHostLines, startMultiProcess, type Deployment } from '../helpers/deployments.ts';
import type { MigrationRow, ServerPlacement } from '../helpers/openstack-cli.ts';
import { GUEST_BOOT_WAIT_MS, markerCount, uploadGuestImage } from '../helpers/guest-image.ts';
import { guestReaches, pings } from '../helpers/guest-probes.ts';
import { NetworkLab, sh, succeeds } from '../helpers/network-lab.ts';
import { processRuns, qemuProcessesOf, waitUntil } from '../helpers/processes.ts';

const A = 'live-a';
const B = 'live-b';
const SUBNET = '10.235.4';
/** The management network's address of each host. */
const INBOUND: Record<string, string> = { [A]: '10.235.9.1', [B]: '10.235.9.2' };

describe('openstack CLI: live migration of a real guest between qemu hosts', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  const lab = new NetworkLab();
  const datapath: Record<string, string> = {};
  const instances = (host: string) => join(dir, `${host}-instances`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-live-qemu-'));
    // Each host's datapath in a namespace of its own, its dnsmasq state in the lab's directory (the lab
    // ends the processes that name it): removed last, after the cloud and its guests.
    const labDir = await lab.directory;
    datapath[A] = await lab.namespace('la');
    datapath[B] = await lab.namespace('lb');
    await lab.wire(datapath[A], 'physla', datapath[B], 'physlb');
    await lab.managementWire(
      { ns: datapath[A], dev: 'mgmtla', cidr: `${INBOUND[A]}/30` },
      { ns: datapath[B], dev: 'mgmtlb', cidr: `${INBOUND[B]}/30` },
    );
    d = await startMultiProcess(dir, cleanup, {
      computeHosts: [A, B],
      computeConfig: (host) =>
        qemuDatapathHostLines({
          instancesPath: instances(host),
          namespace: datapath[host]!,
          stateDirectory: join(labDir, host),
          physicalInterfaceMappings: [`physnet1:physl${host === A ? 'a' : 'b'}`],
          liveMigrationInboundAddress: INBOUND[host]!,
        }),
    });
    // Guests are daemons of their own: end any a failed test left running.
    cleanup.push(async () => [A, B].forEach((host) => killGuests(instances(host))));
    cleanup.push(() => lab.destroy());
    const { cli } = d;
    await cli.ok(
      ...['network', 'create', '--provider-network-type', 'flat', '--provider-physical-network', 'physnet1'],
      'live-net',
    );
    await cli.ok('subnet', 'create', '--network', 'live-net', '--subnet-range', `${SUBNET}.0/24`, 'live-sub');
    // ICMP from anywhere and the probes' HTTP from the subnet (the hosts' gateway address).
    await cli.ok('security', 'group', 'create', 'live-sg');
    await cli.ok('security', 'group', 'rule', 'create', '--protocol', 'icmp', '--remote-ip', '0.0.0.0/0', 'live-sg');
    await cli.ok(
      ...['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '80'],
      ...['--remote-ip', `${SUBNET}.0/24`, 'live-sg'],
    );
    await uploadGuestImage(cli, 'guest');
    await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves the running guest to the other host without a new boot, and A keeps nothing of it', async () => {
    const { cli } = d;
    const show = (id: string) => cli.json<ServerPlacement>('server', 'show', id);
    const consoleOf = (id: string) => cli.ok('console', 'log', 'show', id);
    const { id } = await cli.createServerAndWait(
      ...['--os-compute-api-version', '2.74', '--network', 'live-net', '--security-group', 'live-sg', '--host', A],
      ...['--image', 'guest', '--flavor', 'guest.tiny', 'traveller'],
    );
    assert.equal((await show(id))['OS-EXT-SRV-ATTR:host'], A);
    const [port] = await cli.json<{ ID: string; 'Fixed IP Addresses': unknown }[]>('port', 'list', '--server', id);
    assert.ok(port, 'the server has a port');
    const ip = /\b\d{1,3}(?:\.\d{1,3}){3}\b/.exec(JSON.stringify(port['Fixed IP Addresses']))![0];
    const boundTo = async () => (await cli.json<{ binding_host_id: string }>('port', 'show', port.ID)).binding_host_id;
    const tap = `tap${port.ID.slice(0, 11)}`;
    const tapIn = (host: string) => succeeds(['ip', '-n', datapath[host]!, 'link', 'show', tap]);
    await waitUntil(
      "the guest's console shows its DHCP address",
      async () => (await consoleOf(id)).includes(`stratus-guest: eth0 up ${ip}/24`),
      GUEST_BOOT_WAIT_MS,
      () => d.group.outputs(),
    );
    assert.equal(markerCount(await consoleOf(id)), 1);
    assert.equal(await pings(datapath[A]!, ip), true, 'the guest answers on A');
    const pidOnA = Number(readFileSync(join(instances(A), id, 'qemu.pid'), 'utf8'));

    await cli.ok('--os-compute-api-version', '2.30', 'server', 'migrate', '--live-migration', '--host', B, id);
    const moved = await waitUntil(
      'the server live-migrated',
      async () => {
        const s = await show(id);
        return s['OS-EXT-STS:task_state'] === null ? s : null;
      },
      GUEST_BOOT_WAIT_MS,
      () => d.group.outputs(),
    );
    assert.equal(moved.status, 'ACTIVE');
    assert.equal(moved['OS-EXT-SRV-ATTR:host'], B, JSON.stringify(moved) + d.group.outputs().slice(-6000));
    const migrations = () =>
      cli.json<MigrationRow[]>('--os-compute-api-version', '2.80', 'server', 'migration', 'list', '--server', id);
    await waitUntil('the migration completed', async () => (await migrations())[0]?.Status === 'completed');
    const [migration] = await migrations();
    assert.equal(migration?.Type, 'live-migration');
    assert.equal(migration?.['Source Compute'], A);
    assert.equal(migration?.['Dest Compute'], B);

    // Nothing of the guest is left at A: its qemu ended and its directory removed.
    assert.equal(processRuns(pidOnA), false, "A's qemu ended");
    assert.equal(existsSync(join(instances(A), id)), false, "A's instance directory is gone");
    assert.equal(await qemuProcessesOf(id), 1, 'one qemu runs the guest, on B');
    const pidOnB = Number(readFileSync(join(instances(B), id, 'qemu.pid'), 'utf8'));
    assert.notEqual(pidOnB, pidOnA);

    // Its network came along: the port is bound to B and plugged there only, A keeps no rule naming it,
    // and the guest answers on its fixed address from B's datapath and reaches its gateway itself.
    assert.equal(await boundTo(), B);
    assert.equal(await tapIn(B), true, "the guest's tap is on B");
    assert.equal(await tapIn(A), false, "A's tap is gone");
    const rulesOnA = await sh(['ip', 'netns', 'exec', datapath[A]!, 'nft', 'list', 'ruleset']);
    assert.doesNotMatch(rulesOnA, new RegExp(`${tap}|${ip.replaceAll('.', '\\.')}\\b`), "A's rules are gone");
    await waitUntil('the guest answers on B', () => pings(datapath[B]!, ip), GUEST_BOOT_WAIT_MS);
    assert.equal(await guestReaches(datapath[B]!, ip, 'ping', `${SUBNET}.1`), true);

    // The guest came over running: B's console has no boot of it, and the guest (its acpid, started at
    // its boot on A) answers the power button there.
    assert.equal(markerCount(await consoleOf(id)), 0, 'the guest did not boot again on B');
    await cli.ok('server', 'stop', id);
    await waitUntil('the server stopped', async () => (await show(id)).status === 'SHUTOFF', GUEST_BOOT_WAIT_MS);
    const consoleOnB = readFileSync(join(instances(B), id, 'console.log'), 'utf8');
    assert.match(consoleOnB, /power button pressed/);
    assert.equal(markerCount(consoleOnB), 0);

    await cli.ok('server', 'delete', '--wait', id);
    assert.equal(await qemuProcessesOf(id), 0);
    for (const host of [A, B]) {
      assert.deepEqual(
        readdirSync(instances(host)).filter((f) => f !== '_base' && f !== 'snapshots'),
        [],
      );
      assert.doesNotMatch(await sh(['ip', '-n', datapath[host]!, '-o', 'link', 'show']), /\d+: tap/);
    }
  });

  it('cleans both hosts when the server is deleted while it migrates', async () => {
    const { cli } = d;
    const { id } = await cli.createServerAndWait(
      ...['--os-compute-api-version', '2.74', '--network', 'live-net', '--security-group', 'live-sg', '--host', A],
      ...['--image', 'guest', '--flavor', 'guest.tiny', 'short-lived'],
    );
    const [port] = await cli.json<{ ID: string }[]>('port', 'list', '--server', id);
    assert.ok(port, 'the server has a port');
    const tap = `tap${port.ID.slice(0, 11)}`;
    // Deleted as soon as the migration is accepted: B is still preparing (its disks, its qemu waiting for
    // the state), or A already streaming. Either way neither host keeps anything of the guest.
    await cli.ok('--os-compute-api-version', '2.30', 'server', 'migrate', '--live-migration', '--host', B, id);
    await cli.ok('server', 'delete', '--wait', id);
    const rows = () =>
      cli.json<(MigrationRow & { 'Server UUID'?: string })[]>(
        ...['--os-compute-api-version', '2.80', 'server', 'migration', 'list', '--type', 'live-migration'],
      );
    const migration = await waitUntil(
      'the migration ended',
      async () => {
        const row = (await rows()).find((r) => r['Server UUID'] === id);
        return row && row.Status !== 'preparing' && row.Status !== 'running' && row.Status !== 'queued' ? row : null;
      },
      GUEST_BOOT_WAIT_MS,
    );
    assert.equal(migration.Status, 'cancelled');
    await waitUntil(
      'both hosts removed the guest',
      async () => {
        if ((await qemuProcessesOf(id)) !== 0) return false;
        for (const host of [A, B]) {
          if (existsSync(join(instances(host), id))) return false;
          if (await succeeds(['ip', '-n', datapath[host]!, 'link', 'show', tap])) return false;
        }
        return true;
      },
      GUEST_BOOT_WAIT_MS,
      () => d.group.outputs().slice(-6000),
    );
  });
});
