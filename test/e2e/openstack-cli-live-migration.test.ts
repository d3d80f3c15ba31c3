/**
 * Live migration through the real `openstack` CLI against separate processes on RabbitMQ and MariaDB
 * (api, conductor, scheduler and three fake-driver compute hosts, each its own process): draining a host
 * (`compute service set --disable`, then `server migrate --live-migration` of each of its servers) ends
 * with the host empty and every server ACTIVE on another, the migrations completed; on a host whose
 * transfers are slow (`[fake_driver] live_migration_ms`), `server migration list` and `show` show the
 * running migration with its progress, `server migration abort` leaves the server where it was and
 * `server migration force complete` ends the transfer at once.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consumersOnHost } from '../helpers/allocation-holders.ts';
import { createRawImage, startMultiProcess, type Deployment } from '../helpers/deployments.ts';
import type { OpenstackCli } from '../helpers/openstack-cli.ts';
import { waitUntil } from '../helpers/processes.ts';

/** Every wait is generous: the machine may be busy with other runs. */
const WAIT_MS = 120_000;
/** cmp-3's transfers take this long unless forced: time enough for the CLI to see and act on them. */
const SLOW_TRANSFER_MS = 90_000;

type Shown = Record<string, unknown> & { id: string; status: string };
interface MigrationRow {
  Id: number;
  Status: string;
  Type?: string;
  'Source Compute': string;
  'Dest Compute': string;
}

describe('openstack CLI: live migration between compute processes (fake driver)', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let cli: OpenstackCli;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-live-'));
    d = await startMultiProcess(dir, cleanup, {
      computeHosts: ['cmp-1', 'cmp-2', 'cmp-3'],
      computeConfig: (host) => (host === 'cmp-3' ? ['[fake_driver]', `live_migration_ms = ${SLOW_TRANSFER_MS}`] : []),
    });
    cli = d.cli;
    await createRawImage(cli, dir, 'live-image', 1 << 16);
    await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'live.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const v = (version: string) => ['--os-compute-api-version', version];
  const show = (id: string) => cli.json<Shown>(...v('2.80'), 'server', 'show', id);
  const hostOf = async (id: string) => (await show(id))['OS-EXT-SRV-ATTR:host'] as string;
  const migrationsOf = (id: string) =>
    cli.json<MigrationRow[]>(...v('2.80'), 'server', 'migration', 'list', '--server', id);
  const createOn = (host: string, name: string) =>
    cli.createServerAndWait(
      ...v('2.74'),
      '--image',
      'live-image',
      '--flavor',
      'live.tiny',
      '--nic',
      'none',
      '--host',
      host,
      name,
    );
  const settled = (id: string, status: string) =>
    waitUntil(
      `${id} ${status} with no task`,
      async () => {
        const s = await show(id);
        return s.status === status && s['OS-EXT-STS:task_state'] === null;
      },
      WAIT_MS,
    );
  const migrationIs = (id: string, status: string) =>
    waitUntil(
      `the live migration of ${id} ${status}`,
      async () => (await migrationsOf(id)).some((m) => m.Type === 'live-migration' && m.Status === status),
      WAIT_MS,
    );

  it('drains a disabled host: every server ACTIVE elsewhere, the host empty', async () => {
    const servers = [];
    for (let i = 1; i <= 4; i++) servers.push(await createOn('cmp-1', `drain-${i}`));
    await cli.ok('compute', 'service', 'set', '--disable', 'cmp-1', 'stratus-compute');
    try {
      // The Debian CLI's two ways: the scheduler's choice (default microversion: block_migration False,
      // disk_over_commit False) and a named host the scheduler checks (2.30).
      for (const [i, server] of servers.entries()) {
        const how = i % 2 === 0 ? [] : [...v('2.30')];
        const host = i % 2 === 0 ? [] : ['--host', 'cmp-2'];
        await cli.ok(...how, 'server', 'migrate', '--live-migration', ...host, server.id);
      }
      for (const server of servers) await settled(server.id, 'ACTIVE');
      for (const [i, server] of servers.entries()) {
        const host = await hostOf(server.id);
        const faults = await d.database.db.selectFrom('instance_faults').select('message').execute();
        assert.notEqual(host, 'cmp-1', JSON.stringify([faults, await migrationsOf(server.id)]));
        if (i % 2 === 1) assert.equal(host, 'cmp-2');
        await migrationIs(server.id, 'completed');
      }
      const left = await cli.json<unknown[]>('server', 'list', '--all-projects', '--host', 'cmp-1');
      assert.deepEqual(left, []);
      // Nothing is held on the drained host any more.
      const usage = await consumersOnHost(d.database, 'cmp-1');
      assert.deepEqual(usage, []);
    } finally {
      await cli.ok('compute', 'service', 'set', '--enable', 'cmp-1', 'stratus-compute');
    }
    const refused = await cli.run('server', 'migrate', '--live-migration', servers[0]!.id, '--host', 'nowhere');
    assert.notEqual(refused.code, 0);
  });

  it('shows a running migration, aborts it, then forces the next one to complete', async () => {
    const vm = await createOn('cmp-3', 'slow');
    await cli.ok(...v('2.30'), 'server', 'migrate', '--live-migration', '--host', 'cmp-2', vm.id);
    await migrationIs(vm.id, 'running');
    const running = (await migrationsOf(vm.id)).find((m) => m.Status === 'running')!;
    assert.equal(running['Source Compute'], 'cmp-3');
    assert.equal(running['Dest Compute'], 'cmp-2');
    assert.equal((await show(vm.id)).status, 'MIGRATING');
    await waitUntil(
      'the progress reported',
      async () => {
        const shown = await cli.json<Record<string, unknown>>(
          ...v('2.24'),
          'server',
          'migration',
          'show',
          vm.id,
          String(running.Id),
        );
        return typeof shown['Memory Total Bytes'] === 'number' && (shown['Memory Processed Bytes'] as number) > 0;
      },
      WAIT_MS,
    );
    await cli.ok(...v('2.24'), 'server', 'migration', 'abort', vm.id, String(running.Id));
    await migrationIs(vm.id, 'cancelled');
    await settled(vm.id, 'ACTIVE');
    assert.equal(await hostOf(vm.id), 'cmp-3');

    await cli.ok(...v('2.30'), 'server', 'migrate', '--live-migration', '--host', 'cmp-2', vm.id);
    await migrationIs(vm.id, 'running');
    const next = (await migrationsOf(vm.id)).find((m) => m.Status === 'running')!;
    await cli.ok(...v('2.22'), 'server', 'migration', 'force', 'complete', vm.id, String(next.Id));
    await settled(vm.id, 'ACTIVE');
    assert.equal(await hostOf(vm.id), 'cmp-2');
    await migrationIs(vm.id, 'completed');
  });
});
