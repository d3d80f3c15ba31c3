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
import { openRestSessionFromOpenrc } from '../helpers/rest-session.ts';

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

  it('relays the images proxy (before 2.36) to the image service', async () => {
    const session = await openRestSessionFromOpenrc(d.env);
    const imageId = (await d.cli.json<{ id: string }>('image', 'show', 'usage-image')).id;
    const at = (version: string, method: string, path: string, body?: unknown) =>
      fetch(`${d.computeUrl}${path}`, {
        method,
        headers: {
          'x-auth-token': session.token,
          'content-type': 'application/json',
          'openstack-api-version': `compute ${version}`,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const listed = await at('2.35', 'GET', '/images/detail');
    assert.equal(listed.status, 200);
    const images = ((await listed.json()) as { images: { id: string; status: string }[] }).images;
    assert.deepEqual(
      images.filter((i) => i.id === imageId).map((i) => i.status),
      ['ACTIVE'],
    );
    const set = await at('2.38', 'POST', `/images/${imageId}/metadata`, { metadata: { purpose: 'e2e' } });
    assert.equal(set.status, 200);
    const properties = await d.cli.json<{ properties: Record<string, string> }>('image', 'show', imageId);
    assert.equal(properties.properties['purpose'], 'e2e', 'the image service holds the new property');
    assert.equal((await at('2.36', 'GET', '/images')).status, 404);
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
