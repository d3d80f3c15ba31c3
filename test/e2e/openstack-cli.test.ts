/**
 * The real `openstack` CLI against Stratus, as a user would drive it: once against separate processes on
 * RabbitMQ and MariaDB (api, conductor, scheduler, three compute hosts), once against all-in-one on SQLite.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type Database } from '../../src/common/db/database.ts';
import { createScratchDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';
import { OpenstackCli } from '../helpers/openstack-cli.ts';
import { ProcessGroup, waitUntil } from '../helpers/processes.ts';
import { createVhost } from '../helpers/rabbit-vhost.ts';

interface Deployment {
  cli: OpenstackCli;
  env: Record<string, string>;
  computeUrl: string;
  database: Database;
  computeHosts: string[];
  group: ProcessGroup;
}

function readOpenrc(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of readFileSync(path, 'utf8').matchAll(/^export (\w+)='(.*)'$/gm)) env[m[1]!] = m[2]!;
  return env;
}

async function writeBaseConfig(dir: string, lines: string[]): Promise<{ computePort: number; identityPort: number }> {
  const [identityPort, computePort, imagePort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'base.conf'),
    [
      '[DEFAULT]',
      `state_path = ${dir}`,
      `osapi_compute_listen = 127.0.0.1`,
      `osapi_compute_listen_port = ${computePort}`,
      'report_interval = 2',
      'periodic_interval = 5',
      'rpc_response_timeout = 10',
      'host = controller',
      ...lines,
      '[identity]',
      'listen = 127.0.0.1',
      `listen_port = ${identityPort}`,
      '[image]',
      'listen = 127.0.0.1',
      `listen_port = ${imagePort}`,
      '',
    ].join('\n'),
  );
  return { computePort, identityPort };
}

async function waitForComputes(cli: OpenstackCli, hosts: string[]): Promise<void> {
  await waitUntil(
    `compute services ${hosts.join(', ')} up`,
    async () => {
      const result = await cli.run('compute', 'service', 'list', '--service', 'stratus-compute', '-f', 'json');
      if (result.code !== 0) return false;
      const rows = JSON.parse(result.stdout) as { Host: string; State: string }[];
      return hosts.every((h) => rows.some((r) => r.Host === h && r.State === 'up'));
    },
    90_000,
  );
}

async function startMultiProcess(dir: string, cleanup: (() => Promise<void>)[]): Promise<Deployment> {
  const scratch = await createScratchDatabase('mysql');
  const vhost = await createVhost();
  cleanup.push(vhost.remove, scratch.drop);
  const { computePort } = await writeBaseConfig(dir, [
    `transport_url = ${vhost.url}`,
    '[database]',
    `connection = ${scratch.url}`,
    '[DEFAULT]',
  ]);
  const group = new ProcessGroup();
  cleanup.unshift(() => group.stopAll());
  const conf = (...names: string[]) => names.flatMap((n) => ['--config-file', join(dir, n)]);
  await group.runToEnd('db sync', 'stratus-manage', [...conf('base.conf'), 'db', 'sync']);
  await group.runToEnd('bootstrap', 'stratus-manage', [
    ...conf('base.conf'),
    'bootstrap',
    '--bootstrap-password',
    'secret',
  ]);
  group.start('api', 'stratus', [...conf('base.conf'), 'api']);
  group.start('conductor', 'stratus', [...conf('base.conf'), 'conductor']);
  group.start('scheduler', 'stratus', [...conf('base.conf'), 'scheduler']);
  const computeHosts = ['cmp-1', 'cmp-2', 'cmp-3'];
  for (const host of computeHosts) {
    writeFileSync(join(dir, `${host}.conf`), `[DEFAULT]\nhost = ${host}\n`);
    group.start(host, 'stratus', [...conf('base.conf', `${host}.conf`), 'compute']);
  }
  const env = readOpenrc(join(dir, 'openrc'));
  const cli = new OpenstackCli(env);
  await waitForComputes(cli, computeHosts);
  const database = await openDatabase(scratch.url);
  cleanup.unshift(() => database.close());
  return { cli, env, computeUrl: `http://127.0.0.1:${computePort}/v2.1`, database, computeHosts, group };
}

async function startAllInOne(dir: string, cleanup: (() => Promise<void>)[]): Promise<Deployment> {
  const { computePort, identityPort } = await writeBaseConfig(dir, []);
  const group = new ProcessGroup();
  cleanup.unshift(() => group.stopAll());
  const aio = group.start('all-in-one', 'stratus', ['--config-file', join(dir, 'base.conf'), 'all-in-one'], {
    OS_BOOTSTRAP_PASSWORD: 'secret',
  });
  await waitUntil(
    'all-in-one ready',
    async () => {
      const ok = await fetch(`http://127.0.0.1:${identityPort}/v3`).then(
        (r) => r.ok,
        () => false,
      );
      return ok && aio.output().includes('is running');
    },
    60_000,
    () => aio.output().slice(-3000),
  );
  const cli = new OpenstackCli(readOpenrc(join(dir, 'openrc')));
  await waitForComputes(cli, ['controller']);
  const database = await openDatabase(`sqlite:///${dir}/stratus.sqlite`);
  cleanup.unshift(() => database.close());
  return {
    cli,
    env: readOpenrc(join(dir, 'openrc')),
    computeUrl: `http://127.0.0.1:${computePort}/v2.1`,
    database,
    computeHosts: ['controller'],
    group,
  };
}

interface ServerRow {
  ID: string;
  Name: string;
  Status: string;
  Host?: string;
}

async function waitStatus(cli: OpenstackCli, id: string, status: string): Promise<void> {
  await waitUntil(
    `server ${id} ${status}`,
    async () => (await cli.json<{ status: string }>('server', 'show', id)).status === status,
    30_000,
  );
}

function cliScenario(name: string, start: (dir: string, cleanup: (() => Promise<void>)[]) => Promise<Deployment>) {
  describe(name, () => {
    let dir: string;
    const cleanup: (() => Promise<void>)[] = [];
    let d: Deployment;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-'));
      d = await start(dir, cleanup);
    });
    after(async () => {
      for (const fn of cleanup) await fn().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    it('boots, lists, powers and deletes servers through the CLI', async () => {
      const { cli } = d;
      const token = await cli.json<{ expires: string; project_id: string }>('token', 'issue');
      assert.ok(token.project_id);
      writeFileSync(join(dir, 'disk.img'), Buffer.alloc(1 << 20, 7));
      const image = await cli.json<{ id: string }>(
        'image',
        'create',
        '--file',
        join(dir, 'disk.img'),
        '--disk-format',
        'raw',
        '--container-format',
        'bare',
        'e2e-image',
      );
      const shown = await cli.json<{ status: string; checksum: string }>('image', 'show', image.id);
      assert.equal(shown.status, 'active');
      await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '256', '--disk', '1', 'e2e.tiny');
      const flavors = await cli.json<{ Name: string }[]>('flavor', 'list');
      assert.ok(flavors.some((f) => f.Name === 'e2e.tiny'));

      const one = await cli.json<{ id: string }>(
        'server',
        'create',
        '--flavor',
        'e2e.tiny',
        '--image',
        'e2e-image',
        'solo',
      );
      await waitStatus(cli, one.id, 'ACTIVE');
      await cli.ok(
        'server',
        'create',
        '--flavor',
        'e2e.tiny',
        '--image',
        'e2e-image',
        '--min',
        '10',
        '--max',
        '10',
        'many',
      );
      await waitUntil(
        'eleven servers ACTIVE',
        async () => {
          const rows = await cli.json<ServerRow[]>('server', 'list');
          return rows.length === 11 && rows.every((r) => r.Status === 'ACTIVE');
        },
        60_000,
      );
      const detailed = await cli.json<ServerRow[]>('server', 'list', '--long');
      const hosts = new Set(detailed.map((r) => r.Host));
      assert.deepEqual([...hosts].sort(), [...d.computeHosts].sort(), 'servers spread over every compute host');

      const server = await cli.json<Record<string, unknown>>('server', 'show', 'solo');
      assert.equal(server['status'], 'ACTIVE');
      assert.equal(server['OS-EXT-STS:vm_state'], 'active');
      await cli.ok('server', 'stop', 'solo');
      await waitStatus(cli, one.id, 'SHUTOFF');
      const wrongState = await cli.run('server', 'stop', 'solo');
      assert.notEqual(wrongState.code, 0);
      assert.match(wrongState.stderr, /409/);
      await cli.ok('server', 'start', 'solo');
      await waitStatus(cli, one.id, 'ACTIVE');
      await cli.ok('server', 'reboot', 'solo');
      await waitStatus(cli, one.id, 'ACTIVE');
      await cli.ok('server', 'reboot', '--hard', 'solo');
      await waitStatus(cli, one.id, 'ACTIVE');

      const services = await cli.json<{ Binary: string; State: string }[]>('compute', 'service', 'list');
      for (const binary of ['stratus-conductor', 'stratus-scheduler', 'stratus-compute']) {
        assert.ok(
          services.some((s) => s.Binary === binary && s.State === 'up'),
          `${binary} listed and up`,
        );
      }
      const hypervisors = await cli.json<{ 'Hypervisor Hostname': string }[]>('hypervisor', 'list');
      assert.equal(hypervisors.length, d.computeHosts.length);

      const all = await cli.json<ServerRow[]>('server', 'list');
      await cli.ok('server', 'delete', '--wait', ...all.map((s) => s.ID));
      assert.deepEqual(await cli.json<ServerRow[]>('server', 'list'), []);
      const held = await d.database.db.selectFrom('allocations').selectAll().execute();
      assert.equal(held.length, 0, 'every allocation freed after delete');
    });

    it('answers bad input with the right 4xx and creates nothing', async () => {
      const { cli } = d;
      const before = await d.database.db.selectFrom('instances').select('uuid').execute();
      const badFlavor = await cli.run('server', 'create', '--flavor', 'no-such-flavor', '--image', 'e2e-image', 'x');
      assert.match(badFlavor.stderr, /No flavor with a name or ID of 'no-such-flavor' exists/);
      const badImage = await cli.run('server', 'create', '--flavor', 'e2e.tiny', '--image', 'no-such-image', 'x');
      assert.match(badImage.stderr, /No Image found for no-such-image/);
      const longName = await cli.run(
        'server',
        'create',
        '--flavor',
        'e2e.tiny',
        '--image',
        'e2e-image',
        'n'.repeat(256),
      );
      assert.match(longName.stderr, /HTTP 400/);

      const token = (await cli.json<{ id: string }>('token', 'issue')).id;
      const post = (body: unknown, headers: Record<string, string> = { 'x-auth-token': token }) =>
        fetch(`${d.computeUrl}/servers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const flavorId = (await cli.json<{ id: string }>('flavor', 'show', 'e2e.tiny')).id;
      const imageId = (await cli.json<{ id: string }>('image', 'show', 'e2e-image')).id;
      const good = { name: 'x', flavorRef: flavorId, imageRef: imageId };
      const noToken = await post({ server: good }, {});
      assert.equal(noToken.status, 401);
      const extra = await post({ server: { ...good, bogus: 1 } });
      assert.equal(extra.status, 400);
      assert.match(JSON.stringify(await extra.json()), /bogus/);
      const wrongType = await post({ server: { ...good, name: 42 } });
      assert.equal(wrongType.status, 400);
      const badUuid = await fetch(`${d.computeUrl}/servers/not-a-uuid`, { headers: { 'x-auth-token': token } });
      assert.equal(badUuid.status, 404);

      // A token of another project sees nothing of this one.
      await cli.ok('project', 'create', 'other');
      await cli.ok('user', 'create', '--password', 'pw', '--project', 'other', 'outsider');
      await cli.ok('role', 'add', '--user', 'outsider', '--project', 'other', 'member');
      const mine = await cli.json<{ id: string }>(
        'server',
        'create',
        '--flavor',
        'e2e.tiny',
        '--image',
        'e2e-image',
        'private',
      );
      const outsider = new OpenstackCli({
        ...d.env,
        OS_USERNAME: 'outsider',
        OS_PASSWORD: 'pw',
        OS_PROJECT_NAME: 'other',
      });
      const theirs = await outsider.run('server', 'show', mine.id);
      assert.notEqual(theirs.code, 0);
      assert.match(theirs.stderr, /No server with a name or ID/);
      assert.deepEqual(await outsider.json<ServerRow[]>('server', 'list'), []);
      await cli.ok('server', 'delete', '--wait', mine.id);

      const afterRows = await d.database.db
        .selectFrom('instances')
        .select('uuid')
        .where('display_name', '!=', 'private')
        .execute();
      assert.equal(afterRows.length, before.length, 'bad requests created no instance');
    });
  });
}

cliScenario('openstack CLI against separate processes on RabbitMQ and MariaDB', startMultiProcess);
cliScenario('openstack CLI against all-in-one on SQLite', startAllInOne);
