/**
 * Storage tiers through the real `openstack` CLI, against separate processes on RabbitMQ and MariaDB
 * whose three compute hosts have different storage pools: the disk_type hint and a flavor's
 * storage:tier place servers on a host of the tier, the server asked for with the storage-tier extension
 * header reports the tier (and `server show`, a stock client, sees Nova's keys only), an unknown tier is
 * a 400, a tier with no space left ends in ERROR "No valid host was found", and the hypervisor
 * statistics sum the pools.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startMultiProcess, waitStatus, type Deployment } from '../helpers/deployments.ts';

/** Each host's pools (tier:GB): only cmp-2 has ssd, only cmp-3 has pcie_ssd. */
const POOLS: Record<string, string> = {
  'cmp-1': 'hdd:1000',
  'cmp-2': 'hdd:100,ssd:20',
  'cmp-3': 'pcie_ssd:10',
};

interface ShownServer {
  id: string;
  status: string;
  'OS-EXT-SRV-ATTR:host': string | null;
  fault?: { message: string };
}

describe('openstack CLI: storage tiers', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  const create = (name: string, flavor: string, ...args: string[]) =>
    d.cli.json<{ id: string }>('server', 'create', '--flavor', flavor, '--image', 'tier-image', ...args, name);
  const show = (id: string) => d.cli.json<ShownServer>('server', 'show', id);
  /** The tier as a user reads it: a token from the CLI, GET /servers/{id} with the extension's header. */
  const tierOf = async (id: string): Promise<unknown> => {
    const token = (await d.cli.ok('token', 'issue', '-f', 'value', '-c', 'id')).trim();
    const res = await fetch(`${d.computeUrl}/servers/${id}`, {
      headers: { 'x-auth-token': token, 'stratus-extensions': 'storage-tier' },
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { server: Record<string, unknown> }).server['STRATUS-EXT-STORAGE:tier'];
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-tiers-'));
    d = await startMultiProcess(dir, cleanup, {
      computeConfig: (host) => ['[fake_driver]', `storage_pools = ${POOLS[host]}`],
    });
    await createRawImage(d.cli, dir, 'tier-image', 1 << 16);
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '5', 'tier.small');
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '30', 'tier.big');
    await d.cli.ok(
      'flavor',
      'create',
      '--vcpus',
      '1',
      '--ram',
      '128',
      '--disk',
      '4',
      '--property',
      'storage:tier=pcie_ssd',
      'tier.fast',
    );
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('--hint disk_type=ssd lands on the ssd host; the extension header shows the tier, server show does not', async () => {
    const { id } = await create('on-ssd', 'tier.small', '--hint', 'disk_type=ssd');
    await waitStatus(d.cli, id, 'ACTIVE');
    const server = await show(id);
    assert.equal(server['OS-EXT-SRV-ATTR:host'], 'cmp-2');
    assert.ok(!('STRATUS-EXT-STORAGE:tier' in server), 'a stock client gets Nova keys only');
    assert.equal(await tierOf(id), 'ssd');
  });

  it("a flavor's storage:tier lands on the pcie_ssd host; no ask means the default tier", async () => {
    const fast = await create('on-nvme', 'tier.fast');
    await waitStatus(d.cli, fast.id, 'ACTIVE');
    const shownFast = await show(fast.id);
    assert.equal(shownFast['OS-EXT-SRV-ATTR:host'], 'cmp-3');
    assert.equal(await tierOf(fast.id), 'pcie_ssd');

    const plain = await create('on-hdd', 'tier.small');
    await waitStatus(d.cli, plain.id, 'ACTIVE');
    const shownPlain = await show(plain.id);
    assert.equal(await tierOf(plain.id), 'hdd');
    assert.notEqual(shownPlain['OS-EXT-SRV-ATTR:host'], 'cmp-3', 'cmp-3 has no hdd pool');
  });

  it('an unknown tier, or one that contradicts the flavor, is a 400 and creates nothing', async () => {
    const before = await d.cli.json<unknown[]>('server', 'list');
    const unknown = await d.cli.run(
      'server',
      'create',
      '--flavor',
      'tier.small',
      '--image',
      'tier-image',
      '--hint',
      'disk_type=nvme',
      'bad-tier',
    );
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /Unknown storage tier 'nvme'.*HTTP 400/s);
    const conflict = await d.cli.run(
      'server',
      'create',
      '--flavor',
      'tier.fast',
      '--image',
      'tier-image',
      '--hint',
      'disk_type=ssd',
      'conflicting-tier',
    );
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /Conflicting storage tiers.*HTTP 400/s);
    assert.equal((await d.cli.json<unknown[]>('server', 'list')).length, before.length);
  });

  it('a tier with no space left ends in ERROR with "No valid host was found", though other pools have room', async () => {
    // 20 GB of ssd in the cloud, 5 taken: a 30 GB disk fits no ssd pool (cmp-1 has 1000 GB of hdd).
    const { id } = await create('too-big', 'tier.big', '--hint', 'disk_type=ssd');
    await waitStatus(d.cli, id, 'ERROR');
    const server = await show(id);
    assert.match(server.fault?.message ?? '', /No valid host was found/);
    assert.equal(await tierOf(id), 'ssd');
  });

  it('hypervisor statistics count every pool: local_gb sums them, local_gb_used the disks placed', async () => {
    const stats = await d.cli.json<{ local_gb: number; local_gb_used: number; count: number }>(
      'hypervisor',
      'stats',
      'show',
    );
    assert.equal(stats.count, 3);
    assert.equal(stats.local_gb, 1000 + 120 + 10);
    assert.equal(stats.local_gb_used, 5 + 4 + 5);
  });
});
