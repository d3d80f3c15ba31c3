/**
 * Shelve, unshelve and backups through the real `openstack` CLI (all-in-one). With the qemu driver: a
 * running demo guest shelved (offloaded at once, Nova's default shelved_offload_time 0: no qemu process,
 * no guest directory, placement usage gone), unshelved with --wait, and booting again from the shelved
 * image to its console marker; the shelved image is deleted afterwards. With the fake driver: three
 * `server backup create --type daily --rotate 2` leave the two newest backups.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { providerUsages } from '../../src/placement/providers.ts';
import { createRawImage, startAllInOne, type Deployment } from '../helpers/deployments.ts';
import { GUEST_BOOT_WAIT_MS, markerCount } from '../helpers/guest-image.ts';
import { qemuProcessesOf, waitUntil } from '../helpers/processes.ts';

interface Shown {
  status: string;
  'OS-EXT-STS:task_state': string | null;
  'OS-EXT-SRV-ATTR:host'?: string | null;
}

async function vcpusInUse(d: Deployment): Promise<number> {
  return [...(await providerUsages(d.database.db)).values()].reduce((sum, u) => sum + (u.usages['VCPU'] ?? 0), 0);
}

describe('openstack CLI: shelve and unshelve a real guest (qemu driver)', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-shelve-'));
    d = await startAllInOne(dir, cleanup, { driver: 'qemu' });
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('shelves a running guest off its host and unshelves it to boot from the shelved image', async () => {
    const { cli } = d;
    const markers = async (id: string) => markerCount(await cli.ok('console', 'log', 'show', id));
    const vm = await cli.createServerAndWait('--image', 'stratus-guest', '--flavor', 'guest.tiny', 'vm1');
    await waitUntil('the guest prints its marker', async () => (await markers(vm.id)) >= 1, GUEST_BOOT_WAIT_MS);
    assert.equal(await vcpusInUse(d), 1);

    await cli.ok('server', 'shelve', '--wait', 'vm1');
    await waitUntil(
      'SHELVED_OFFLOADED with no task',
      async () => {
        const shown = await cli.json<Shown>('server', 'show', vm.id);
        return shown.status === 'SHELVED_OFFLOADED' && shown['OS-EXT-STS:task_state'] === null;
      },
      120_000,
    );
    assert.equal(await qemuProcessesOf(vm.id), 0, 'the guest is gone from the host');
    assert.equal(existsSync(join(dir, 'instances', vm.id)), false);
    assert.equal(await vcpusInUse(d), 0, 'placement usage dropped');
    const images = await cli.json<{ Name: string; Status: string }[]>('image', 'list');
    assert.ok(
      images.some((i) => i.Name === 'vm1-shelved' && i.Status === 'active'),
      'the shelved image is active',
    );

    await cli.ok('server', 'unshelve', '--wait', 'vm1');
    const shown = await cli.json<Shown>('server', 'show', vm.id);
    assert.equal(shown.status, 'ACTIVE');
    assert.equal(await vcpusInUse(d), 1, 'claimed again');
    await waitUntil(
      'the unshelved guest boots to its marker',
      async () => (await markers(vm.id)) >= 1,
      GUEST_BOOT_WAIT_MS,
    );
    assert.equal(await qemuProcessesOf(vm.id), 1);
    await waitUntil(
      'the shelved image is deleted',
      async () => !(await cli.json<{ Name: string }[]>('image', 'list')).some((i) => i.Name === 'vm1-shelved'),
      30_000,
    );
    const events = await cli.json<{ Action: string }[]>('server', 'event', 'list', vm.id);
    assert.deepEqual(events.map((e) => e.Action).sort(), ['create', 'shelve', 'unshelve']);
    await cli.ok('server', 'delete', '--wait', vm.id);
  });
});

describe('openstack CLI: backups with rotation (fake driver)', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-backup-'));
    d = await startAllInOne(dir, cleanup, { driver: 'fake' });
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the two newest daily backups of three', async () => {
    const { cli } = d;
    await createRawImage(cli, dir, 'raw1');
    const vm = await cli.createServerAndWait('--image', 'raw1', '--flavor', 'm1.tiny', 'vm1');
    // Distinct names: the CLI finds the new backup by name, and two of one name would be ambiguous to it.
    for (const name of ['bk1', 'bk2', 'bk3']) {
      await cli.ok('server', 'backup', 'create', '--type', 'daily', '--rotate', '2', '--name', name, '--wait', 'vm1');
      await waitUntil(
        'the backup task is over',
        async () => (await cli.json<Shown>('server', 'show', vm.id))['OS-EXT-STS:task_state'] === null,
        30_000,
      );
    }
    await waitUntil(
      'the oldest backup is rotated out',
      async () => {
        const names = (await cli.json<{ Name: string }[]>('image', 'list')).map((i) => i.Name);
        return !names.includes('bk1');
      },
      30_000,
    );
    const names = (await cli.json<{ Name: string }[]>('image', 'list')).map((i) => i.Name).sort();
    assert.deepEqual(
      names.filter((n) => n.startsWith('bk')),
      ['bk2', 'bk3'],
    );
  });
});
