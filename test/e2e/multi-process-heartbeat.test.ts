/**
 * Conductor, scheduler and two compute hosts as separate processes on RabbitMQ and MariaDB: every
 * service registers and heartbeats; a compute killed with SIGKILL goes down after service_down_time and
 * comes back up when restarted; SIGTERM drains and exits cleanly.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type Database } from '../../src/common/db/database.ts';
import { isServiceUp, listServices } from '../../src/objects/services.ts';
import { createScratchDatabase } from '../helpers/database.ts';
import { ProcessGroup, waitUntil } from '../helpers/processes.ts';
import { createVhost } from '../helpers/rabbit-vhost.ts';

const DOWN_TIME = 3;

describe('services as separate processes on RabbitMQ and MariaDB', () => {
  const group = new ProcessGroup();
  let dir: string;
  let database: Database;
  let cleanup: (() => Promise<void>)[] = [];
  const conf = (...names: string[]) => names.flatMap((n) => ['--config-file', join(dir, n)]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-mp-'));
    const scratch = await createScratchDatabase('mysql');
    const vhost = await createVhost();
    cleanup = [vhost.remove, scratch.drop];
    writeFileSync(
      join(dir, 'base.conf'),
      [
        '[DEFAULT]',
        `state_path = ${dir}`,
        `transport_url = ${vhost.url}`,
        'report_interval = 1',
        `service_down_time = ${DOWN_TIME}`,
        'periodic_interval = 2',
        'rpc_response_timeout = 5',
        'host = controller',
        '[database]',
        `connection = ${scratch.url}`,
        '',
      ].join('\n'),
    );
    for (const host of ['cmp-1', 'cmp-2']) writeFileSync(join(dir, `${host}.conf`), `[DEFAULT]\nhost = ${host}\n`);
    await group.runToEnd('db sync', 'stratus-manage', [...conf('base.conf'), 'db', 'sync']);
    database = await openDatabase(scratch.url);
  });

  after(async () => {
    await group.stopAll();
    await database?.close();
    for (const fn of cleanup) await fn();
    rmSync(dir, { recursive: true, force: true });
  });

  const states = async () => {
    const services = await listServices(database.db);
    return new Map(services.map((s) => [`${s.binary}@${s.host}`, isServiceUp(s, DOWN_TIME)]));
  };

  it('registers every service, marks a killed compute down and a restarted one up', async () => {
    group.start('conductor', 'stratus', [...conf('base.conf'), 'conductor']);
    group.start('scheduler', 'stratus', [...conf('base.conf'), 'scheduler']);
    let compute1 = group.start('compute 1', 'stratus', [...conf('base.conf', 'cmp-1.conf'), 'compute']);
    group.start('compute 2', 'stratus', [...conf('base.conf', 'cmp-2.conf'), 'compute']);
    const everyone = [
      'stratus-conductor@controller',
      'stratus-scheduler@controller',
      'stratus-compute@cmp-1',
      'stratus-compute@cmp-2',
    ];
    await waitUntil(
      'all four services up',
      async () => {
        const s = await states();
        return everyone.every((k) => s.get(k) === true);
      },
      60_000,
      () => compute1.output().slice(-3000),
    );
    // A compute host registers first and reports its nodes right after: under load that can lag a moment.
    const nodes = await waitUntil('both compute nodes reported', async () => {
      const rows = await database.db.selectFrom('compute_nodes').select('host').execute();
      return rows.length >= 2 ? rows : null;
    });
    assert.deepEqual(nodes.map((n) => n.host).sort(), ['cmp-1', 'cmp-2']);

    compute1.child.kill('SIGKILL');
    await compute1.exited;
    const downAt = Date.now();
    await waitUntil('cmp-1 down', async () => (await states()).get('stratus-compute@cmp-1') === false, 20_000);
    assert.ok(Date.now() - downAt >= (DOWN_TIME - 1.5) * 1000, 'went down only after service_down_time');
    assert.equal((await states()).get('stratus-compute@cmp-2'), true, 'the other compute stays up');

    compute1 = group.start('compute 1 again', 'stratus', [...conf('base.conf', 'cmp-1.conf'), 'compute']);
    await waitUntil(
      'cmp-1 up again',
      async () => (await states()).get('stratus-compute@cmp-1') === true,
      30_000,
      () => compute1.output().slice(-3000),
    );

    compute1.child.kill('SIGTERM');
    assert.equal(await compute1.exited, 0, 'SIGTERM drains and exits with 0');
  });
});
