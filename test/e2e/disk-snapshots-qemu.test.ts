/**
 * Disk snapshots (the Stratus extension) end to end over plain HTTP against all-in-one with the qemu
 * driver and one real guest: two links taken while it runs, the first merged into the second, a revert
 * to the second that restarts the guest, the server's action list, and the server's deletion leaving no
 * qemu process and none of the chain's files.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { GuestSpec } from '../../src/compute/virt/qemu/guest-spec.ts';
import { startAllInOne, type Deployment } from '../helpers/deployments.ts';
import { GUEST_BOOT_WAIT_MS, markerCount } from '../helpers/guest-image.ts';
import { qemuProcessesOf, waitUntil } from '../helpers/processes.ts';
import { openRestSessionFromOpenrc, type RestSession } from '../helpers/rest-session.ts';

const run = promisify(execFile);

interface DiskSnapshot {
  id: string;
  name: string;
  status: string;
  size: number | null;
}

describe('disk snapshots over HTTP (all-in-one, qemu driver)', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let rest: RestSession;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-disksnap-'));
    d = await startAllInOne(dir, cleanup, { driver: 'qemu' });
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
    rest = await openRestSessionFromOpenrc(d.env);
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes, merges and reverts links of a running guest; deleting the server removes the chain', async () => {
    const { cli } = d;
    const server = await cli.createServerAndWait('--image', 'stratus-guest', '--flavor', 'guest.tiny', 'chained');
    const markers = async () => markerCount(await cli.ok('console', 'log', 'show', server.id));
    await waitUntil('the guest prints its marker', async () => (await markers()) >= 1, GUEST_BOOT_WAIT_MS);
    const base = `${d.computeUrl}/servers/${server.id}/stratus-disk-snapshots`;
    const list = async () => (await rest.request<{ disk_snapshots: DiskSnapshot[] }>('GET', base)).body.disk_snapshots;
    const idle = () =>
      waitUntil('the server without a task', async () => {
        const shown = await cli.json<{ 'OS-EXT-STS:task_state': string | null }>('server', 'show', server.id);
        return shown['OS-EXT-STS:task_state'] === null;
      });
    const take = async (name: string) => {
      const res = await rest.request<{ disk_snapshot: DiskSnapshot }>('POST', base, { disk_snapshot: { name } });
      assert.equal(res.status, 202);
      assert.equal(res.body.disk_snapshot.status, 'creating');
      await idle();
      return res.body.disk_snapshot.id;
    };

    const s1 = await take('s1');
    const s2 = await take('s2');
    const taken = await list();
    assert.deepEqual(
      taken.map((s) => [s.id, s.name, s.status]),
      [
        [s1, 's1', 'available'],
        [s2, 's2', 'available'],
      ],
    );
    assert.ok(
      taken.every((s) => (s.size ?? 0) > 0),
      'each link reports the bytes it holds',
    );
    const specFile = join(dir, 'instances', server.id, 'guest.json');
    const chainLength = async () => {
      const spec = JSON.parse(readFileSync(specFile, 'utf8')) as GuestSpec;
      const { stdout } = await run('qemu-img', ['info', '--backing-chain', '-U', '--output=json', spec.disks[0]!.path]);
      return (JSON.parse(stdout) as unknown[]).length;
    };
    assert.equal(await chainLength(), 4, 'active <- s2 <- s1 <- cached base');
    assert.equal(await qemuProcessesOf(server.id), 1);

    assert.equal((await rest.request('DELETE', `${base}/${s1}`)).status, 202);
    await idle();
    assert.deepEqual(
      (await list()).map((s) => s.id),
      [s2],
    );
    assert.equal(await chainLength(), 3);
    assert.equal((await rest.request('GET', `${base}/${s1}`)).status, 404);

    const booted = await markers();
    const revert = await rest.request('POST', `${d.computeUrl}/servers/${server.id}/action`, {
      revertDiskSnapshot: { snapshot_id: s2 },
    });
    assert.equal(revert.status, 202);
    await idle();
    const shown = await cli.json<{ status: string }>('server', 'show', server.id);
    assert.equal(shown.status, 'ACTIVE');
    await waitUntil('the reverted guest boots again', async () => (await markers()) > booted, GUEST_BOOT_WAIT_MS);
    assert.deepEqual(
      (await list()).map((s) => [s.id, s.status]),
      [[s2, 'available']],
    );
    const events = await cli.json<{ Action: string }[]>('server', 'event', 'list', server.id);
    assert.deepEqual(events.map((e) => e.Action).sort(), [
      'create',
      'createDiskSnapshot',
      'createDiskSnapshot',
      'deleteDiskSnapshot',
      'revertDiskSnapshot',
    ]);

    const spec = JSON.parse(readFileSync(specFile, 'utf8')) as GuestSpec;
    const files = [...spec.disks.map((disk) => disk.path), ...(spec.diskSnapshots ?? []).map((link) => link.path)];
    await cli.ok('server', 'delete', '--wait', server.id);
    assert.equal(await qemuProcessesOf(server.id), 0);
    for (const file of files) assert.equal(existsSync(file), false, `${file} is removed`);
    assert.equal(existsSync(join(dir, 'instances', server.id)), false);
  });
});
