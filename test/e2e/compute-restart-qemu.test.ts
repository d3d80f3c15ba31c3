/**
 * Kill -9 of the compute service while real guests run, then a restart, as an operator would live it
 * (all-in-one with the qemu driver, driven by the real `openstack` CLI). While it is down, one guest's
 * qemu dies (as in a host reboot) and one instance is deleted in the database (a delete another API node
 * did locally). After the restart: the running guest is found again (same qemu), the dead one is started
 * again (resume_guests_state_on_host_boot), a stop caught mid-way ends SHUTOFF, no instance stays in a
 * task, and the deleted instance's guest is reaped (running_deleted_instance_action = reap).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { markInstanceDeleted } from '../../src/objects/instances.ts';
import { startAllInOne, waitStatus, type Deployment } from '../helpers/deployments.ts';
import { GUEST_MARKER } from '../helpers/guest-image.ts';
import { processRuns, waitUntil } from '../helpers/processes.ts';

const run = promisify(execFile);

describe('kill -9 of the compute service with real guests', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  const instances = () => join(dir, 'instances');
  const pidOf = (uuid: string) => Number(readFileSync(join(instances(), uuid, 'qemu.pid'), 'utf8'));
  const aioArgs = () => ['--config-file', join(dir, 'base.conf'), 'all-in-one'];
  const options = [
    'resume_guests_state_on_host_boot = true',
    'running_deleted_instance_action = reap',
    'running_deleted_instance_poll_interval = 2',
    'running_deleted_instance_timeout = 0',
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-restart-'));
    d = await startAllInOne(dir, cleanup, { driver: 'qemu', lines: options });
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  async function server(name: string): Promise<string> {
    const created = await d.cli.createServerAndWait('--image', 'stratus-guest', '--flavor', 'guest.tiny', name);
    assert.equal(created.status, 'ACTIVE');
    return created.id;
  }

  async function shown(id: string): Promise<{ status: string; task: string | null }> {
    const s = await d.cli.json<Record<string, string | null>>('server', 'show', id);
    return { status: s['status']!, task: s['OS-EXT-STS:task_state'] ?? null };
  }

  it('applies flavor QoS set through the CLI to a real guest, and refuses a bad value', async () => {
    const { cli } = d;
    await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.limited');
    const bad = await cli.run('flavor', 'set', 'guest.limited', '--property', 'quota:cpu_shares=-5');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /quota:cpu_shares': -5 is less than the minimum of 0/);
    await cli.ok('flavor', 'set', 'guest.limited', '--property', 'quota:cpu_quota=30000');
    await cli.ok('flavor', 'set', 'guest.limited', '--property', 'quota:disk_total_iops_sec=100');
    const { id } = await cli.createServerAndWait('--image', 'stratus-guest', '--flavor', 'guest.limited', 'limited');
    const host = (await cli.json<Record<string, string>>('server', 'show', id))['OS-EXT-SRV-ATTR:host'];
    const cgroup = `/sys/fs/cgroup/cpu/stratus/instance-${host}-${id}`;
    assert.equal(readFileSync(join(cgroup, 'cpu.cfs_quota_us'), 'utf8').trim(), '30000');
    assert.ok(
      readFileSync(join(cgroup, 'cgroup.procs'), 'utf8')
        .split('\n')
        .includes(String(pidOf(id))),
    );
    await cli.ok('server', 'delete', '--wait', id);
    assert.equal(existsSync(cgroup), false);
  });

  it('finds running guests again, resumes dead ones, settles tasks and reaps deleted ones', async () => {
    // Booted at once (one after the other they made this file one of the test run's longest).
    const [keep, resume, stopping, reaped] = (await Promise.all(
      ['keep', 'resume', 'stopping', 'reaped'].map(server),
    )) as [string, string, string, string];
    await Promise.all(
      [keep, resume, stopping, reaped].map((id) =>
        waitUntil(
          `marker of ${id}`,
          async () => (await d.cli.ok('console', 'log', 'show', id)).includes(GUEST_MARKER),
          120_000,
        ),
      ),
    );
    const pids = new Map([keep, resume, stopping, reaped].map((id) => [id, pidOf(id)]));

    // A stop under way, then the whole service killed without a chance to clean up.
    await d.cli.ok('server', 'stop', stopping);
    const { stdout } = await run('pgrep', ['-f', `${join(dir, 'base.conf')} all-in-one`]);
    for (const pid of stdout.trim().split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
    await waitUntil('the service gone', async () =>
      stdout
        .trim()
        .split('\n')
        .every((p) => !processRuns(Number(p))),
    );
    assert.ok(processRuns(pids.get(keep)!), 'guests outlive the compute service');

    // While it is down: a guest dies (as in a host reboot) and an instance is deleted in the database.
    process.kill(pids.get(resume)!, 'SIGKILL');
    await waitUntil('the resumed guest dead', async () => !processRuns(pids.get(resume)!));
    await markInstanceDeleted(d.database.db, reaped);

    const restarted = d.group.start('all-in-one again', 'stratus', aioArgs(), { OS_BOOTSTRAP_PASSWORD: 'secret' });
    await waitUntil(
      'all-in-one running again',
      async () => restarted.output().includes('is running'),
      120_000,
      () => restarted.output().slice(-3000),
    );

    await waitStatus(d.cli, stopping, 'SHUTOFF');
    assert.deepEqual(await shown(keep), { status: 'ACTIVE', task: null });
    assert.equal(pidOf(keep), pids.get(keep), 'the running guest was found again, not restarted');
    assert.deepEqual(await shown(resume), { status: 'ACTIVE', task: null });
    assert.notEqual(pidOf(resume), pids.get(resume));
    assert.ok(processRuns(pidOf(resume)), 'the dead guest was started again');
    assert.deepEqual(await shown(stopping), { status: 'SHUTOFF', task: null });
    assert.equal(processRuns(pids.get(stopping)!), false);

    await waitUntil('the deleted instance’s guest reaped', async () => !processRuns(pids.get(reaped)!), 60_000);
    await waitUntil('its files removed', async () => !existsSync(join(instances(), reaped)), 30_000);

    await d.cli.ok('server', 'delete', '--wait', keep, resume, stopping);
    const { stdout: left } = await run('ps', ['-eo', 'stat=,args=']);
    for (const id of [keep, resume, stopping, reaped]) {
      assert.equal(
        left.split('\n').filter((l) => !l.startsWith('Z') && l.includes(`-uuid ${id}`)).length,
        0,
        `no qemu of ${id} left`,
      );
    }
    assert.deepEqual(
      readdirSync(instances()).filter((f) => f !== '_base'),
      [],
    );
  });
});
