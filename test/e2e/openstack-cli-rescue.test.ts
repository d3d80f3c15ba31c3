/**
 * Rescue, crash dumps and diagnostics through the real `openstack` CLI, against one all-in-one cloud on
 * SQLite with the fake driver: `server rescue` (with and without --image), `server unrescue`,
 * `server dump create` (microversion 2.17), and `server show --diagnostics` in the free-form and the
 * 2.48 formats, admin-only.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startAllInOne, waitStatus, type Deployment } from '../helpers/deployments.ts';
import { OpenstackCli } from '../helpers/openstack-cli.ts';

describe('openstack CLI: rescue, crash dump and diagnostics', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let member: OpenstackCli;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-rescue-'));
    d = await startAllInOne(dir, cleanup);
    const { cli } = d;
    await createRawImage(cli, dir, 'rsc-image', 1 << 16);
    await createRawImage(cli, dir, 'rsc-rescue', 1 << 16);
    await cli.ok('image', 'set', '--public', 'rsc-image');
    await cli.ok('image', 'set', '--public', 'rsc-rescue');
    await cli.ok('flavor', 'create', '--vcpus', '2', '--ram', '256', '--disk', '1', 'rsc.small');
    await cli.ok('project', 'create', 'demo');
    await cli.ok('user', 'create', '--password', 'secret', 'alice');
    await cli.ok('role', 'add', '--user', 'alice', '--project', 'demo', 'member');
    member = new OpenstackCli({ ...d.env, OS_USERNAME: 'alice', OS_PASSWORD: 'secret', OS_PROJECT_NAME: 'demo' });
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('rescues and unrescues, sends an NMI, and shows diagnostics to admins', async () => {
    const { cli } = d;
    const server = await member.createServerAndWait('--flavor', 'rsc.small', '--image', 'rsc-image', 'vm1');

    await member.ok('server', 'rescue', 'vm1');
    await waitStatus(member, server.id, 'RESCUE');
    // Diagnostics are the admin's: in the 2.48 format the rescued guest shows two disks.
    const standard = await cli.json<Record<string, unknown>>(
      '--os-compute-api-version',
      '2.48',
      'server',
      'show',
      '--diagnostics',
      server.id,
    );
    assert.equal(standard['driver'], 'libvirt');
    assert.equal(standard['state'], 'running');
    assert.equal(standard['num_cpus'], 2);
    assert.equal(standard['num_disks'], 2);
    const denied = await member.run('server', 'show', '--diagnostics', 'vm1');
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /403|os-server-diagnostics/);
    const wrongState = await member.run('server', 'rescue', 'vm1');
    assert.notEqual(wrongState.code, 0);
    assert.match(wrongState.stderr, /409|vm_state rescued/);

    await member.ok('server', 'unrescue', 'vm1');
    await waitStatus(member, server.id, 'ACTIVE');
    const legacy = await cli.json<Record<string, unknown>>('server', 'show', '--diagnostics', server.id);
    assert.deepEqual(
      Object.keys(legacy)
        .filter((k) => k.startsWith('cpu'))
        .sort(),
      ['cpu0_time', 'cpu1_time'],
    );
    assert.equal(legacy['memory'], 256 * 1024);

    await member.ok('server', 'rescue', '--image', 'rsc-rescue', '--password', 'Rescue123', 'vm1');
    await waitStatus(member, server.id, 'RESCUE');
    await member.ok('server', 'unrescue', 'vm1');
    await waitStatus(member, server.id, 'ACTIVE');

    const tooOld = await member.run('--os-compute-api-version', '2.16', 'server', 'dump', 'create', 'vm1');
    assert.notEqual(tooOld.code, 0);
    await member.ok('--os-compute-api-version', '2.17', 'server', 'dump', 'create', 'vm1');

    const events = await member.json<{ Action: string }[]>('server', 'event', 'list', 'vm1');
    assert.deepEqual(
      events.map((e) => e.Action),
      ['trigger_crash_dump', 'unrescue', 'rescue', 'unrescue', 'rescue', 'create'],
    );
  });
});
