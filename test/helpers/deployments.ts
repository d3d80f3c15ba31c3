/**
 * Stratus clouds for end-to-end tests, driven through the real `openstack` CLI: separate processes on
 * RabbitMQ and MariaDB (api, conductor, scheduler, three compute hosts), or all-in-one on SQLite. Each
 * start function pushes what undoes it onto `cleanup`, to be run in order after the tests.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../src/common/db/database.ts';
import { createScratchDatabase } from './database.ts';
import { freePort } from './free-port.ts';
import { OpenstackCli } from './openstack-cli.ts';
import { ProcessGroup, waitUntil } from './processes.ts';
import { createVhost } from './rabbit-vhost.ts';

export interface Deployment {
  cli: OpenstackCli;
  env: Record<string, string>;
  computeUrl: string;
  database: Database;
  computeHosts: string[];
  group: ProcessGroup;
}

export function readOpenrc(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of readFileSync(path, 'utf8').matchAll(/^export (\w+)='(.*)'$/gm)) env[m[1]!] = m[2]!;
  return env;
}

/** The [identity] and [image] sections that put those APIs on loopback ports, ending the file. */
export function listenSections(identityPort: number, imagePort: number): string[] {
  return [
    '[identity]',
    'listen = 127.0.0.1',
    `listen_port = ${identityPort}`,
    '[image]',
    'listen = 127.0.0.1',
    `listen_port = ${imagePort}`,
    '',
  ];
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
      ...listenSections(identityPort, imagePort),
    ].join('\n'),
  );
  return { computePort, identityPort };
}

export async function waitForComputes(cli: OpenstackCli, hosts: string[]): Promise<void> {
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

export async function startMultiProcess(dir: string, cleanup: (() => Promise<void>)[]): Promise<Deployment> {
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

export async function startAllInOne(dir: string, cleanup: (() => Promise<void>)[]): Promise<Deployment> {
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

export interface ServerRow {
  ID: string;
  Name: string;
  Status: string;
  Host?: string;
}

export async function waitStatus(cli: OpenstackCli, id: string, status: string): Promise<void> {
  await waitUntil(
    `server ${id} ${status}`,
    async () => (await cli.json<{ status: string }>('server', 'show', id)).status === status,
    30_000,
  );
}

/** Uploads a raw image of `bytes` bytes through the CLI, as a user would; returns its id. */
export async function createRawImage(cli: OpenstackCli, dir: string, name: string, bytes = 1 << 20): Promise<string> {
  const file = join(dir, `${name}.img`);
  writeFileSync(file, Buffer.alloc(bytes, 7));
  const args = ['--file', file, '--disk-format', 'raw', '--container-format', 'bare', name];
  return (await cli.json<{ id: string }>('image', 'create', ...args)).id;
}
