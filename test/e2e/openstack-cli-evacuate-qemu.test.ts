/**
 * Evacuate of a real guest from a dead host, driven by the real `openstack` CLI on a multi-process
 * cloud (RabbitMQ, MariaDB) whose two compute processes stand for two qemu hosts, each with its own
 * instance directory, image cache and datapath namespace (`[linux_bridge] namespace`). The demo guest,
 * with a config drive and a port on a network, runs on host A; A's compute
 * service and its guest's qemu are killed, as a host that lost power would lose them; the service is
 * marked down (`compute service set --down`, 2.11) and the server evacuated. It is rebuilt ACTIVE on B
 * from its image (fetched into B's cache), boots afresh there (its console, the config drive written
 * anew), its port bound to B and plugged there, and A's compute, started again with resume_guests_state_on_host_boot, removes what is left of
 * the guest there (its directory, its tap, no qemu) instead of starting it, and completes the migration.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killGuests, qemuDatapathHostLines, startMultiProcess, type Deployment } from '../helpers/deployments.ts';
import type { MigrationRow, ServerPlacement } from '../helpers/openstack-cli.ts';
import { GUEST_BOOT_WAIT_MS, markerCount, uploadGuestImage } from '../helpers/guest-image.ts';
import { NetworkLab, succeeds } from '../helpers/network-lab.ts';
import { processRuns, qemuProcessesOf, waitUntil } from '../helpers/processes.ts';

const A = 'evac-a';
const B = 'evac-b';

describe('openstack CLI: evacuate a real guest off a dead qemu host', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  const lab = new NetworkLab();
  const datapath: Record<string, string> = {};
  const instances = (host: string) => join(dir, `${host}-instances`);
  const computeArgs = (host: string) => [
    ...['--config-file', join(dir, 'base.conf'), '--config-file', join(dir, `${host}.conf`)],
    'compute',
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-evacuate-'));
    // Each host's datapath in a namespace of its own, its dnsmasq state in the lab's directory (the lab
    // ends the processes that name it): removed last, after the cloud and its guests.
    const labDir = await lab.directory;
    datapath[A] = await lab.namespace('ea');
    datapath[B] = await lab.namespace('eb');
    d = await startMultiProcess(dir, cleanup, {
      computeHosts: [A, B],
      computeConfig: (host) => [
        // Were A to take its evacuated guest for its own, it would start it again.
        'resume_guests_state_on_host_boot = true',
        ...qemuDatapathHostLines({
          instancesPath: instances(host),
          namespace: datapath[host]!,
          stateDirectory: join(labDir, host),
        }),
      ],
    });
    // Guests are daemons that outlive a killed compute service: end any a failed test left running.
    cleanup.push(async () => [A, B].forEach((host) => killGuests(instances(host))));
    cleanup.push(() => lab.destroy());
    await d.cli.ok('network', 'create', 'evac-net');
    await d.cli.ok('subnet', 'create', '--network', 'evac-net', '--subnet-range', '10.231.7.0/24', 'evac-sub');
    await uploadGuestImage(d.cli, 'guest');
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('rebuilds the server on the other host and the dead host cleans up when it comes back', async () => {
    const { cli } = d;
    const show = (id: string) => cli.json<ServerPlacement>('server', 'show', id);
    const consoleOf = (id: string) => cli.ok('console', 'log', 'show', id);
    const net = await cli.json<{ id: string }>('network', 'show', 'evac-net');
    const created = await cli.createServerAndWait(
      ...['--os-compute-api-version', '2.74', '--nic', `net-id=${net.id}`, '--host', A],
      ...['--image', 'guest', '--flavor', 'guest.tiny', '--config-drive', 'true', 'evacuee'],
    );
    const id = created.id;
    assert.equal((await show(id))['OS-EXT-SRV-ATTR:host'], A);
    await waitUntil('the guest boots on A', async () => markerCount(await consoleOf(id)) >= 1, GUEST_BOOT_WAIT_MS);
    const pidOnA = Number(readFileSync(join(instances(A), id, 'qemu.pid'), 'utf8'));
    assert.ok(existsSync(join(instances(A), id, 'disk.config')));
    const [port] = await cli.json<{ ID: string }[]>('port', 'list', '--server', id);
    assert.ok(port, 'the server has a port');
    const boundTo = async () => (await cli.json<{ binding_host_id: string }>('port', 'show', port.ID)).binding_host_id;
    const tapIn = (host: string) =>
      succeeds(['ip', '-n', datapath[host]!, 'link', 'show', `tap${port.ID.slice(0, 11)}`]);
    assert.equal(await boundTo(), A);
    assert.ok(await tapIn(A), "the guest's tap is on A");

    // Host A dies: its compute service and its guest with it; its disks stay where they were.
    const compute = d.group.get(A)!;
    compute.child.kill('SIGKILL');
    await compute.exited;
    process.kill(pidOnA, 'SIGKILL');
    await waitUntil('the guest of A dead', async () => !processRuns(pidOnA));
    const v211 = ['--os-compute-api-version', '2.11'];
    await cli.ok(...v211, 'compute', 'service', 'set', '--down', A, 'stratus-compute');

    // Debian's openstackclient fails showing the accepted evacuation (novaclient's (resp, body) tuple).
    const evacuated = await cli.run('server', 'evacuate', id);
    if (evacuated.code !== 0) assert.match(evacuated.stderr, /'TupleWithMeta' object has no attribute 'to_dict'/);
    const rebuilt = await waitUntil(
      'the server rebuilt',
      async () => {
        const s = await show(id);
        return s['OS-EXT-STS:task_state'] === null && s.status !== 'REBUILD' ? s : null;
      },
      GUEST_BOOT_WAIT_MS,
      () => d.group.outputs(),
    );
    assert.equal(rebuilt.status, 'ACTIVE');
    assert.equal(rebuilt['OS-EXT-SRV-ATTR:host'], B);
    const migrations = () =>
      cli.json<MigrationRow[]>('--os-compute-api-version', '2.80', 'server', 'migration', 'list', '--server', id);
    const [migration] = await migrations();
    assert.equal(migration?.Type, 'evacuation');
    assert.equal(migration?.Status, 'done');
    assert.equal(migration?.['Dest Compute'], B);

    // A fresh boot on B from the image, fetched into B's own cache, its config drive written there.
    await waitUntil('the guest boots on B', async () => markerCount(await consoleOf(id)) >= 1, GUEST_BOOT_WAIT_MS);
    // The guest prints what it read from its config drive after its marker.
    const readDrive = new RegExp(`stratus-config-drive uuid=${id}`);
    await waitUntil(
      'the guest read its new config drive',
      async () => readDrive.test(await consoleOf(id)),
      GUEST_BOOT_WAIT_MS,
    );
    assert.equal(markerCount(await consoleOf(id)), 1, 'the console is of one boot, on B');
    assert.equal(await qemuProcessesOf(id), 1);
    assert.ok(existsSync(join(instances(B), id, 'disk.config')));
    assert.ok(readdirSync(join(instances(B), '_base')).length > 0, "the image is in B's cache");
    assert.ok(existsSync(join(instances(A), id)), 'the dead host still holds its copy');
    assert.equal(await boundTo(), B, 'the port is bound to B');
    assert.ok(await tapIn(B), "the guest's tap is plugged on B");

    // A comes back: the evacuated guest's leftovers go, and it is not started there again.
    await cli.ok(...v211, 'compute', 'service', 'set', '--up', A, 'stratus-compute');
    const restarted = d.group.start(`${A} again`, 'stratus', computeArgs(A));
    await waitUntil(
      'A removes the evacuated guest',
      async () => !existsSync(join(instances(A), id)),
      120_000,
      () => restarted.output().slice(-3000),
    );
    await waitUntil(
      'A ready',
      async () => restarted.output().includes('compute host ready'),
      60_000,
      () => restarted.output().slice(-3000),
    );
    assert.equal(await qemuProcessesOf(id), 1, 'only B runs the guest');
    assert.equal(await tapIn(A), false, "A unplugged the evacuated guest's tap");
    assert.ok(await tapIn(B));
    assert.equal((await migrations())[0]?.Status, 'completed');
    const after = await show(id);
    assert.equal(after.status, 'ACTIVE');
    assert.equal(after['OS-EXT-SRV-ATTR:host'], B);

    await cli.ok('server', 'delete', '--wait', id);
    assert.equal(await qemuProcessesOf(id), 0);
    assert.equal(await tapIn(B), false);
    for (const host of [A, B]) {
      assert.deepEqual(
        readdirSync(instances(host)).filter((f) => f !== '_base' && f !== 'snapshots'),
        [],
      );
    }
  });
});
