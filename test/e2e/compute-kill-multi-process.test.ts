/**
 * Kill -9 of one compute service of a multi-process deployment (RabbitMQ, MariaDB; cmp-1 runs real
 * guests with the qemu driver) while the rest of the cloud stays up. While it is down a user deletes a
 * server through the API, which deletes it locally since its host is down; when the compute service
 * comes back, that server's guest is reaped, and the other guest is found running as it was.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { killGuests, QEMU_COMPUTE_LINES, startMultiProcess, type Deployment } from '../helpers/deployments.ts';
import { GUEST_MARKER, uploadGuestImage } from '../helpers/guest-image.ts';
import { processRuns, waitUntil } from '../helpers/processes.ts';

const run = promisify(execFile);
const DOWN_TIME = 6;

describe('kill -9 of one compute service of a multi-process cloud with real guests', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  const instances = () => join(dir, 'instances');
  const pidOf = (uuid: string) => Number(readFileSync(join(instances(), uuid, 'qemu.pid'), 'utf8'));
  const computeArgs = () => [
    ...['--config-file', join(dir, 'base.conf'), '--config-file', join(dir, 'cmp-1.conf')],
    'compute',
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-mp-kill-'));
    d = await startMultiProcess(dir, cleanup, {
      sharedConfig: ['[DEFAULT]', `service_down_time = ${DOWN_TIME}`],
      computeConfig: (host) =>
        host === 'cmp-1'
          ? ['running_deleted_instance_poll_interval = 2', ...QEMU_COMPUTE_LINES]
          : // The fake hosts have no room for a guest, so every server lands on cmp-1.
            ['[fake_driver]', 'memory_mb = 64'],
    });
    await uploadGuestImage(d.cli, 'guest');
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
    // A compute service shows up with its first heartbeat, its hypervisor with the report that follows.
    await waitUntil('the QEMU hypervisor of cmp-1 reported', async () =>
      (await d.cli.json<{ 'Hypervisor Type': string }[]>('hypervisor', 'list', '--long')).some(
        (h) => h['Hypervisor Type'] === 'QEMU',
      ),
    );
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    // Guests are daemons that outlive a killed compute service: end any a failed test left running.
    killGuests(instances());
    rmSync(dir, { recursive: true, force: true });
  });

  it('reaps the guest of a server deleted while its compute was down, and keeps the other running', async () => {
    const { cli } = d;
    const server = async (name: string) => {
      const created = await cli.createServerAndWait('--image', 'guest', '--flavor', 'guest.tiny', name);
      assert.equal(created.status, 'ACTIVE');
      await waitUntil(
        `marker of ${name}`,
        async () => (await cli.ok('console', 'log', 'show', created.id)).includes(GUEST_MARKER),
        120_000,
      );
      return created.id;
    };
    const [keep, gone] = await Promise.all([server('keep'), server('gone')]);
    const pids = { keep: pidOf(keep), gone: pidOf(gone) };

    const compute = (await cli.json<{ Host: string; State: string }[]>('compute', 'service', 'list')).find(
      (s) => s.Host === 'cmp-1',
    );
    assert.equal(compute?.State, 'up');
    const { stdout } = await run('pgrep', ['-f', `${join(dir, 'cmp-1.conf')} compute`]);
    for (const pid of stdout.trim().split('\n')) process.kill(Number(pid), 'SIGKILL');
    await waitUntil(
      'cmp-1 down',
      async () =>
        (await cli.json<{ Host: string; State: string }[]>('compute', 'service', 'list')).find(
          (s) => s.Host === 'cmp-1',
        )?.State === 'down',
      60_000,
    );
    // The API deletes locally (its host is down); the guest still runs on cmp-1.
    await cli.ok('server', 'delete', '--wait', gone);
    assert.ok(processRuns(pids.gone) && processRuns(pids.keep), 'guests outlive their compute service');

    const restarted = d.group.start('cmp-1 again', 'stratus', computeArgs());
    await waitUntil(
      'the deleted server’s guest reaped',
      async () => !processRuns(pids.gone),
      90_000,
      () => restarted.output().slice(-3000),
    );
    await waitUntil('its files removed', async () => !existsSync(join(instances(), gone)), 30_000);
    const kept = await cli.json<Record<string, string | null>>('server', 'show', keep);
    assert.equal(kept['status'], 'ACTIVE');
    assert.equal(kept['OS-EXT-STS:task_state'] ?? null, null);
    assert.equal(pidOf(keep), pids.keep, 'the running guest was found again, not restarted');

    await cli.ok('server', 'delete', '--wait', keep);
    await waitUntil('the kept guest gone', async () => !processRuns(pids.keep), 60_000);
    assert.deepEqual(
      readdirSync(instances()).filter((f) => f !== '_base'),
      [],
    );
  });
});
