/**
 * Usage, hypervisor details and migrations through the real `openstack` CLI, against one all-in-one
 * cloud on SQLite (its single compute host is `controller`).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startAllInOne, waitStatus, type Deployment } from '../helpers/deployments.ts';

describe('openstack CLI: usage, hypervisor show and migrations', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let serverId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-usage-'));
    d = await startAllInOne(dir, cleanup);
    await createRawImage(d.cli, dir, 'usage-image', 1 << 16);
    await d.cli.ok('flavor', 'create', '--vcpus', '2', '--ram', '256', '--disk', '1', 'usage.small');
    const created = await d.cli.json<{ id: string }>(
      'server',
      'create',
      '--flavor',
      'usage.small',
      '--image',
      'usage-image',
      'metered',
    );
    serverId = created.id;
    await waitStatus(d.cli, serverId, 'ACTIVE');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI's Servers column: the project's server usages (a list), or their count in older clients. */
  const servers = (row: Record<string, unknown>): number => {
    const value = row['Servers'];
    return Array.isArray(value) ? value.length : Number(value ?? 0);
  };

  it('lists and shows usage per project', async () => {
    const { cli } = d;
    const rows = await cli.json<Record<string, unknown>[]>('usage', 'list');
    assert.equal(rows.length, 1);
    const [row] = rows;
    assert.equal(servers(row!), 1);
    // The server was launched moments ago: some usage, far from an hour.
    const cpuHours = Number(row!['CPU Hours']);
    assert.ok(cpuHours >= 0 && cpuHours < 1, `CPU Hours ${cpuHours}`);
    const shown = await cli.json<Record<string, unknown>>('usage', 'show');
    assert.equal(servers(shown), 1);
    const empty = await cli.json<Record<string, unknown>>(
      'usage',
      'show',
      '--start',
      '2020-01-01',
      '--end',
      '2020-02-01',
    );
    assert.equal(servers(empty), 0, `nothing ran in that period: ${JSON.stringify(empty)}`);
  });

  it("shows the hypervisor with the host's uptime, before and from 2.88", async () => {
    const { cli } = d;
    for (const version of ['2.1', '2.53', '2.88']) {
      const shown = await cli.json<Record<string, unknown>>(
        '--os-compute-api-version',
        version,
        'hypervisor',
        'show',
        'controller',
      );
      // The CLI splits the host's uptime line into its parts.
      const line = JSON.stringify(shown);
      assert.match(String(shown['host_time']), /^\d\d:\d\d:\d\d$/, `at ${version}: ${line}`);
      assert.match(String(shown['uptime']), /min|day|\d:\d\d/, `at ${version}: ${line}`);
      assert.match(String(shown['load_average']), /^\d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/, `at ${version}: ${line}`);
      if (version !== '2.88') assert.equal(shown['running_vms'], 1);
    }
  });

  it('lists no migrations, for the cloud and for the server', async () => {
    const { cli } = d;
    assert.deepEqual(await cli.json('server', 'migration', 'list'), []);
    assert.deepEqual(await cli.json('--os-compute-api-version', '2.80', 'server', 'migration', 'list'), []);
    assert.deepEqual(
      await cli.json('--os-compute-api-version', '2.80', 'server', 'migration', 'list', '--server', serverId),
      [],
    );
  });
});
