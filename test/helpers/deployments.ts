/**
 * Stratus clouds for end-to-end tests, driven through the real `openstack` CLI: separate processes on
 * RabbitMQ and MariaDB or PostgreSQL (api, conductor, one or more schedulers, compute hosts), or
 * all-in-one on SQLite. Each
 * start function pushes what undoes it onto `cleanup`, to be run in order after the tests.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../src/common/db/database.ts';
import { createScratchDatabase } from './database.ts';
import { FAST_PASSWORD_HASH_ROUNDS } from './fast-hashing.ts';
import { freePort } from './free-port.ts';
import { NetworkLab } from './network-lab.ts';
import { OpenstackCli } from './openstack-cli.ts';
import { ProcessGroup, waitUntil } from './processes.ts';
import { createVhost } from './rabbit-vhost.ts';

import { passwordToken } from './rest-session.ts';
export { passwordToken };

export interface Deployment {
  cli: OpenstackCli;
  env: Record<string, string>;
  computeUrl: string;
  /** The network API's root (its versions document). */
  networkUrl: string;
  /** The dashboard (the api service serves it). */
  dashboardUrl: string;
  /** The metadata service (all-in-one runs one). */
  metadataUrl?: string;
  database: Database;
  computeHosts: string[];
  group: ProcessGroup;
  /** Multi-process: each service's launcher arguments by process name, to start it again after a kill. */
  commands?: Map<string, string[]>;
}

export function readOpenrc(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of readFileSync(path, 'utf8').matchAll(/^export (\w+)='(.*)'$/gm)) env[m[1]!] = m[2]!;
  return env;
}

/**
 * The [identity], [image] and [vnc] sections that put those APIs and the console proxy on loopback
 * ports, ending the file.
 */
export function listenSections(identityPort: number, imagePort: number, consolePort: number): string[] {
  return [
    '[identity]',
    'listen = 127.0.0.1',
    `listen_port = ${identityPort}`,
    '[image]',
    'listen = 127.0.0.1',
    `listen_port = ${imagePort}`,
    '[vnc]',
    'novncproxy_host = 127.0.0.1',
    `novncproxy_port = ${consolePort}`,
    '',
  ];
}

/**
 * The tests boot many servers in one project (storms of hundreds): unlimited unless a test's own lines
 * set quotas (they come after, and the last value given wins). Only services that enforce quotas read
 * them: a compute host of the previous release (the rolling upgrade) refuses options it does not know.
 */
const UNLIMITED_SERVER_QUOTAS = ['[quota]', 'instances = -1', 'cores = -1', 'ram = -1', '[DEFAULT]'];

/** Cheap logins (test/helpers/fast-hashing.ts), for the services that serve identity: not computes. */
const FAST_LOGINS = ['[identity]', `password_hash_rounds = ${FAST_PASSWORD_HASH_ROUNDS}`, '[DEFAULT]'];

/**
 * The network API and the dashboard on free loopback ports, back in [DEFAULT] after. Only the api (and the bootstrap,
 * which writes its URL into the catalog) reads it: a compute of the previous release would refuse the
 * section, so multi-process deployments put it in controller.conf.
 */
async function networkSection(): Promise<{ lines: string[]; port: number; dashboardPort: number }> {
  const [port, dashboardPort] = [await freePort(), await freePort()];
  return {
    port,
    dashboardPort,
    lines: [
      '[network]',
      'listen = 127.0.0.1',
      `listen_port = ${port}`,
      // The dashboard, also the api's alone, on its own free port: tests run side by side.
      '[dashboard]',
      'listen = 127.0.0.1',
      `port = ${dashboardPort}`,
      '[DEFAULT]',
    ],
  };
}

async function writeBaseConfig(
  dir: string,
  lines: string[],
): Promise<{ computePort: number; identityPort: number; consolePort: number }> {
  const [identityPort, computePort, imagePort, consolePort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  writeFileSync(
    join(dir, 'base.conf'),
    [
      '[DEFAULT]',
      `state_path = ${dir}`,
      `osapi_compute_listen = 127.0.0.1`,
      `osapi_compute_listen_port = ${computePort}`,
      'report_interval = 2',
      'periodic_interval = 5',
      'rpc_response_timeout = 30',
      'host = controller',
      ...lines,
      // The scheduler reads the hosts on every request: a test boots right after its computes report,
      // and a cached view from a moment earlier could lack the last of them (the cache has unit tests).
      '[scheduler]',
      'host_state_refresh_interval = 0',
      ...listenSections(identityPort, imagePort, consolePort),
    ].join('\n'),
  );
  return { computePort, identityPort, consolePort };
}

/** `describe` tells, on a timeout, what the services printed (their logs say why one is not up). */
export async function waitForComputes(cli: OpenstackCli, hosts: string[], describe?: () => string): Promise<void> {
  await waitUntil(
    `compute services ${hosts.join(', ')} up`,
    async () => {
      // Through REST rather than the CLI: each CLI poll costs a second of CPU (see openCliRestSession).
      const rest = await cli.rest().catch(() => null);
      if (!rest) return false;
      const services = await rest.session.request<{ services?: { host: string; state: string }[] }>(
        'GET',
        `${rest.computeUrl}/os-services?binary=stratus-compute`,
      );
      const rows = services.body?.services ?? [];
      if (!hosts.every((h) => rows.some((r) => r.host === h && r.state === 'up'))) return false;
      // Up is the heartbeat; the scheduler places on compute nodes, which the first resource report makes.
      const nodes = await rest.session.request<{ hypervisors?: unknown[] }>('GET', `${rest.computeUrl}/os-hypervisors`);
      return (nodes.body?.hypervisors?.length ?? 0) >= hosts.length;
    },
    // Generous: on a loaded CI machine a dozen service processes start (and compile) at once.
    180_000,
    describe,
  );
}

export interface MultiProcessOptions {
  /** The database server (default MariaDB). */
  engine?: 'mysql' | 'postgres';
  /** Scheduler processes sharing the `scheduler` queue (default 1). */
  schedulers?: number;
  /** The compute hosts, one process each (default cmp-1, cmp-2, cmp-3). */
  computeHosts?: string[];
  /** Extra lines of each compute host's own config file (after its `[DEFAULT] host = ...`). */
  computeConfig?: (host: string) => string[];
  /** INI lines appended to the shared configuration (sections of their own, such as [filter_scheduler]). */
  sharedConfig?: string[];
  /** INI lines of a file only the api, conductor and schedulers read (options a compute would not know). */
  controllerConfig?: string[];
  /** The checkout each compute host runs from (default this one): another release's, for upgrades. */
  computeRoot?: (host: string) => string | undefined;
  /**
   * A broker and database of the caller's own (`transport_url`, `[database] connection` of an existing,
   * empty database) instead of a vhost and a scratch database on the machine's servers.
   */
  own?: { transportUrl: string; databaseUrl: string };
}

export async function startMultiProcess(
  dir: string,
  cleanup: (() => Promise<void>)[],
  options: MultiProcessOptions = {},
): Promise<Deployment> {
  let own = options.own;
  if (!own) {
    const scratch = await createScratchDatabase(options.engine ?? 'mysql');
    const vhost = await createVhost();
    cleanup.push(vhost.remove, scratch.drop);
    own = { transportUrl: vhost.url, databaseUrl: scratch.url };
  }
  const { computePort } = await writeBaseConfig(dir, [
    `transport_url = ${own.transportUrl}`,
    '[database]',
    `connection = ${own.databaseUrl}`,
    ...(options.sharedConfig ?? []),
    '[DEFAULT]',
  ]);
  const group = new ProcessGroup();
  cleanup.unshift(() => group.stopAll());
  const conf = (...names: string[]) => names.flatMap((n) => ['--config-file', join(dir, n)]);
  const network = await networkSection();
  writeFileSync(
    join(dir, 'controller.conf'),
    [...UNLIMITED_SERVER_QUOTAS, ...FAST_LOGINS, ...network.lines, ...(options.controllerConfig ?? []), ''].join('\n'),
  );
  await group.runToEnd('db sync', 'stratus-manage', [...conf('base.conf'), 'db', 'sync']);
  await group.runToEnd('bootstrap', 'stratus-manage', [
    ...conf('base.conf', 'controller.conf'),
    'bootstrap',
    '--bootstrap-password',
    'secret',
  ]);
  const commands = new Map<string, string[]>();
  const start = (name: string, args: string[], root?: string) => {
    commands.set(name, args);
    group.start(name, 'stratus', args, {}, root);
  };
  start('api', [...conf('base.conf', 'controller.conf'), 'api']);
  start('conductor', [...conf('base.conf', 'controller.conf'), 'conductor']);
  const schedulers = options.schedulers ?? 1;
  for (let i = 1; i <= schedulers; i++) {
    // Each scheduler its own host name: its service record and its RPC server name.
    const name = schedulers === 1 ? 'base.conf' : `scheduler-${i}.conf`;
    if (schedulers > 1) writeFileSync(join(dir, name), `[DEFAULT]\nhost = scheduler-${i}\n`);
    // A lone scheduler keeps the plain name tests look its output up by.
    const label = schedulers === 1 ? 'scheduler' : `scheduler-${i}`;
    start(label, [...conf(...new Set(['base.conf', name]), 'controller.conf'), 'scheduler']);
  }
  const computeHosts = options.computeHosts ?? ['cmp-1', 'cmp-2', 'cmp-3'];
  for (const host of computeHosts) {
    const lines = ['[DEFAULT]', `host = ${host}`, ...(options.computeConfig?.(host) ?? []), ''];
    writeFileSync(join(dir, `${host}.conf`), lines.join('\n'));
    start(host, [...conf('base.conf', `${host}.conf`), 'compute'], options.computeRoot?.(host));
  }
  const env = readOpenrc(join(dir, 'openrc'));
  const cli = new OpenstackCli(env);
  await waitForComputes(cli, computeHosts, () => group.outputs());
  const database = await openDatabase(own.databaseUrl, { maxRetries: 600, retryIntervalMs: 100 });
  cleanup.unshift(() => database.close());
  return {
    cli,
    env,
    computeUrl: `http://127.0.0.1:${computePort}/v2.1`,
    networkUrl: `http://127.0.0.1:${network.port}`,
    dashboardUrl: `http://127.0.0.1:${network.dashboardPort}/`,
    database,
    computeHosts,
    group,
    commands,
  };
}

/**
 * Where the qemu driver's datapath lives: a network namespace the test made (so that the machine's own
 * namespace keeps its forwarding and bridge-netfilter settings, and its tables), with its state under the
 * test's directory. `physicalInterfaceMappings` are `physnet:interface` pairs of interfaces inside it.
 */
export interface DatapathOptions {
  namespace: string;
  physicalInterfaceMappings?: string[];
}

function datapathSection(dir: string, datapath: DatapathOptions, metadataPort: number): string[] {
  return [
    '[linux_bridge]',
    `namespace = ${datapath.namespace}`,
    `state_directory = ${join(dir, 'linux_bridge')}`,
    `physical_interface_mappings = ${(datapath.physicalInterfaceMappings ?? []).join(',')}`,
    '[compute]',
    `vif_cache_directory = ${join(dir, 'vif_cache')}`,
    // The host's metadata proxy forwards guests' requests to this deployment's metadata service, which
    // takes the instance the proxy names and signs (as a deployment with the datapath is configured).
    '[metadata_agent]',
    `nova_metadata_port = ${metadataPort}`,
    '[neutron]',
    'service_metadata_proxy = true',
    'metadata_proxy_shared_secret = e2e-datapath-metadata',
    '[DEFAULT]',
  ];
}

/**
 * All-in-one on SQLite. It would pick the qemu driver by itself where qemu is installed; tests name the
 * driver they mean (fake unless asked), plus any `[DEFAULT]` lines of their own, and for real guests
 * with networks the namespace their datapath lives in.
 */
export async function startAllInOne(
  dir: string,
  cleanup: (() => Promise<void>)[],
  options: { driver?: 'fake' | 'qemu'; lines?: string[]; datapath?: DatapathOptions } = {},
): Promise<Deployment> {
  const network = await networkSection();
  // All-in-one runs the metadata service too: on loopback and a port of its own, as tests run side by side.
  const metadataPort = await freePort();
  const { computePort, identityPort } = await writeBaseConfig(dir, [
    `compute_driver = ${options.driver ?? 'fake'}`,
    'metadata_listen = 127.0.0.1',
    `metadata_listen_port = ${metadataPort}`,
    ...UNLIMITED_SERVER_QUOTAS,
    ...FAST_LOGINS,
    ...network.lines,
    ...(options.datapath ? datapathSection(dir, options.datapath, metadataPort) : []),
    ...(options.lines ?? []),
  ]);
  const group = new ProcessGroup();
  // Guests are daemons that outlive a killed compute service: end any a failed test left running.
  if (options.driver === 'qemu') cleanup.unshift(async () => killGuests(join(dir, 'instances')));
  // The datapath's dnsmasq processes outlive the compute service (as DHCP agents do): end them too.
  if (options.datapath) cleanup.unshift(() => killProcessesMentioning(join(dir, 'linux_bridge')));
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
    120_000,
    () => aio.output().slice(-3000),
  );
  const cli = new OpenstackCli(readOpenrc(join(dir, 'openrc')));
  await waitForComputes(cli, ['controller'], () => aio.output().slice(-3000));
  const database = await openDatabase(`sqlite:///${dir}/stratus.sqlite`);
  cleanup.unshift(() => database.close());
  return {
    cli,
    env: readOpenrc(join(dir, 'openrc')),
    computeUrl: `http://127.0.0.1:${computePort}/v2.1`,
    networkUrl: `http://127.0.0.1:${network.port}`,
    dashboardUrl: `http://127.0.0.1:${network.dashboardPort}/`,
    metadataUrl: `http://127.0.0.1:${metadataPort}`,
    database,
    computeHosts: ['controller'],
    group,
  };
}

/**
 * A multi-process compute host's config lines for real guests (after its own `[DEFAULT]` lines): the
 * qemu driver under TCG, and the bootstrap admin as the service user it fetches images with.
 */
export const QEMU_COMPUTE_LINES = [
  'compute_driver = qemu',
  '[qemu]',
  'virt_type = qemu',
  '[glance]',
  'username = admin',
  'password = secret',
  'project_name = admin',
];

/**
 * A multi-process compute host's config lines for real guests (QEMU_COMPUTE_LINES) in `instancesPath`,
 * with its datapath in network namespace `namespace` (state in `stateDirectory`), its physical networks
 * on `physicalInterfaceMappings` (`physnet:interface` pairs of interfaces in that namespace), and no
 * metadata proxy: two such hosts stand for two machines.
 */
export function qemuDatapathHostLines(options: {
  instancesPath: string;
  namespace: string;
  stateDirectory: string;
  physicalInterfaceMappings?: string[];
  /** Where a live migration's source reaches this host's qemu (the namespace's management address). */
  liveMigrationInboundAddress?: string;
}): string[] {
  return [
    `instances_path = ${options.instancesPath}`,
    ...QEMU_COMPUTE_LINES,
    ...(options.liveMigrationInboundAddress
      ? ['[qemu]', `live_migration_inbound_addr = ${options.liveMigrationInboundAddress}`]
      : []),
    '[linux_bridge]',
    `namespace = ${options.namespace}`,
    `state_directory = ${options.stateDirectory}`,
    `physical_interface_mappings = ${(options.physicalInterfaceMappings ?? []).join(',')}`,
    '[metadata_agent]',
    'enabled = false',
  ];
}

/** Headers of JSON requests as the deployment's admin (its openrc), with a token got once. */
export async function adminJsonHeaders(env: Record<string, string>): Promise<Record<string, string>> {
  const token = await passwordToken(
    env['OS_AUTH_URL']!,
    env['OS_USERNAME']!,
    env['OS_PASSWORD']!,
    env['OS_PROJECT_NAME']!,
  );
  return { 'x-auth-token': token, 'content-type': 'application/json' };
}

/** SIGKILLs the qemu of every guest under `instancesPath`: the pid of its pidfile, if that runs its uuid. */
export function killGuests(instancesPath: string): void {
  for (const uuid of existsSync(instancesPath) ? readdirSync(instancesPath) : []) {
    const pidfile = join(instancesPath, uuid, 'qemu.pid');
    try {
      const pid = Number(readFileSync(pidfile, 'utf8'));
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(uuid)) process.kill(pid, 'SIGKILL');
    } catch {
      // no pidfile, or the process is gone
    }
  }
}

async function killProcessesMentioning(text: string): Promise<void> {
  for (const pid of await NetworkLab.processesMentioning(text)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface ServerRow {
  ID: string;
  Name: string;
  Status: string;
  Host?: string;
}

export async function waitStatus(cli: OpenstackCli, id: string, status: string, timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    `server ${id} ${status}`,
    async () => {
      const { session, computeUrl } = await cli.rest();
      const { body } = await session.request<{ server?: { status: string } }>('GET', `${computeUrl}/servers/${id}`);
      return body?.server?.status === status;
    },
    timeoutMs,
  );
}

/** Uploads a raw image of `bytes` bytes through the CLI, as a user would; returns its id. */
export async function createRawImage(cli: OpenstackCli, dir: string, name: string, bytes = 1 << 20): Promise<string> {
  const file = join(dir, `${name}.img`);
  writeFileSync(file, Buffer.alloc(bytes, 7));
  const args = ['--file', file, '--disk-format', 'raw', '--container-format', 'bare', name];
  return (await cli.json<{ id: string }>('image', 'create', ...args)).id;
}
