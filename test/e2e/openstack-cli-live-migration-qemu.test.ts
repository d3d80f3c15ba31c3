/**
 * Live migration of a real guest, driven by the real `openstack` CLI on a multi-process cloud (RabbitMQ,
 * MariaDB) whose two compute processes stand for two qemu hosts, each with its own instance directory
 * and image cache (the guest has no port: both hosts' qemu run in this machine's network namespace, where
 * each reaches the other at [qemu] migration_address). The demo guest boots on host A; `server migrate --live-migration
 * --host B` (2.30) moves it while it runs (its disk copied over NBD, its state over TCP): the server ends
 * ACTIVE on B, the migration completed, and the guest did not boot again there, yet runs: B's console
 * shows no boot marker, and the guest answers the power button there when the server is stopped. A keeps
 * no qemu and no instance directory for it.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killGuests, QEMU_COMPUTE_LINES, startMultiProcess, type Deployment } from '../helpers/deployments.ts';
import type { MigrationRow, ServerPlacement } from '../helpers/openstack-cli.ts';
import { GUEST_BOOT_WAIT_MS, markerCount, uploadGuestImage } from '../helpers/guest-image.ts';
import { processRuns, qemuProcessesOf, waitUntil } from '../helpers/processes.ts';

const A = 'live-a';
const B = 'live-b';

describe('openstack CLI: live migration of a real guest between qemu hosts', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  const instances = (host: string) => join(dir, `${host}-instances`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-live-qemu-'));
    d = await startMultiProcess(dir, cleanup, {
      computeHosts: [A, B],
      computeConfig: (host) => [
        `instances_path = ${instances(host)}`,
        ...QEMU_COMPUTE_LINES,
        '[metadata_agent]',
        'enabled = false',
      ],
    });
    // Guests are daemons of their own: end any a failed test left running.
    cleanup.push(async () => [A, B].forEach((host) => killGuests(instances(host))));
    await uploadGuestImage(d.cli, 'guest');
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
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
      ...['--os-compute-api-version', '2.74', '--nic', 'none', '--host', A],
      ...['--image', 'guest', '--flavor', 'guest.tiny', 'traveller'],
    );
    assert.equal((await show(id))['OS-EXT-SRV-ATTR:host'], A);
    await waitUntil('the guest boots on A', async () => markerCount(await consoleOf(id)) >= 1, GUEST_BOOT_WAIT_MS);
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
    }
  });
});
