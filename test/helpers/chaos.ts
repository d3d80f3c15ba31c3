/**
 * The chaos scenario (issue 15, "faults survived, measured"), shared by `npm run bench -- chaos` and its
 * small run in `npm test` (test/e2e/chaos.test.ts): a multi-process cloud (api, conductor, scheduler,
 * compute hosts on the fake driver) on a RabbitMQ and a MariaDB of its own (private-services.ts), a boot
 * storm and then a delete storm through the REST API, and during each: kill -9 of the api, the
 * conductor, the scheduler and one compute (each started again a second later), a kill -9 and restart
 * of RabbitMQ, and of MariaDB. Then it waits for the cloud to settle and counts, from the API and the
 * database: servers ACTIVE, ERROR (by fault message), stuck (any transitional state after the settle
 * time), lost (accepted and absent, or deleted and back), duplicated (two servers for one request),
 * and hosts overcommitted (instances or claims beyond a node's capacity).
 *
 * The client is a careful one: a request refused because the api is down is sent again; a create
 * whose answer was lost with a killed api is looked up by its unique name before it is sent again.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '../../src/common/db/database.ts';
import { startMultiProcess, type Deployment } from './deployments.ts';
import { startPrivateMariadb, startPrivateRabbit, type PrivateServer } from './private-services.ts';
import { passwordToken } from './rest-session.ts';

export interface ChaosOptions {
  servers: number;
  /** Requests in flight at once. */
  concurrency: number;
  computes: number;
  /** How long the cloud may take to settle after the last fault before transitional states count as stuck. */
  settleMs: number;
  /** The fake driver's spawn time: builds that are really running when their compute dies. */
  spawnDelayMs: number;
  /**
   * `[DEFAULT] service_down_time` (default 20): a compute whose heartbeats the broker and database
   * restarts keep from being recorded for longer is down to the scheduler until its next one.
   */
  serviceDownTime?: number;
  say: (msg: string) => void;
}

export interface ChaosReport {
  servers: number;
  computes: number;
  faults: string[];
  active: number;
  error: number;
  errorFaults: Record<string, number>;
  stuck: number;
  stuckStates: Record<string, number>;
  lost: number;
  duplicated: number;
  deletedBack: number;
  overcommittedHosts: number;
  claimsMissing: number;
  claimsLeaked: number;
  /** vm_state/task_state of the instances whose claims were leaked. */
  claimsLeakedStates: Record<string, number>;
  bootSeconds: number;
  deleteSeconds: number;
  settleSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Faults in the order they are done, each at its fraction of a storm's requests. */
type Fault = 'api' | 'conductor' | 'scheduler' | 'compute' | 'rabbitmq' | 'mariadb';
const PLAN: [number, Fault][] = [
  [0.1, 'api'],
  [0.25, 'conductor'],
  [0.4, 'scheduler'],
  [0.55, 'compute'],
  [0.7, 'rabbitmq'],
  [0.85, 'mariadb'],
];

class Client {
  private token = '';
  constructor(
    private readonly identity: string,
    readonly compute: string,
  ) {}

  async login(): Promise<void> {
    for (;;) {
      try {
        this.token = await passwordToken(this.identity, 'admin', 'secret', 'admin');
        return;
      } catch {
        await sleep(500);
      }
    }
  }

  /** Sends until an answer arrives; `lost` tells the caller the previous attempt may have been done. */
  async request(method: string, path: string, body?: unknown, onLost?: () => Promise<Response | null>) {
    let maybeDone = false;
    for (let attempt = 0; ; attempt++) {
      if (maybeDone && onLost) {
        const found = await onLost().catch(() => null);
        if (found) return found;
      }
      try {
        const r = await fetch(`${this.compute}${path}`, {
          method,
          headers: { 'x-auth-token': this.token, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(120_000),
        });
        if (r.status === 401) {
          await this.login();
          continue;
        }
        // The api answers 503 while its bus or database is away: send again.
        if (r.status >= 500 && attempt < 200) {
          maybeDone = true;
          await r.arrayBuffer();
          await sleep(500);
          continue;
        }
        return r;
      } catch (err) {
        // Refused: nothing was sent. Reset or timed out: the api may have done it.
        if (!/ECONNREFUSED/.test(String((err as { cause?: unknown }).cause ?? err))) maybeDone = true;
        await sleep(300);
      }
    }
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(method, path, body);
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  }
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const { say } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'stratus-chaos-'));
  const cleanup: (() => Promise<void>)[] = [];
  let rabbit: PrivateServer | undefined;
  let mariadb: PrivateServer | undefined;
  try {
    [rabbit, mariadb] = await Promise.all([startPrivateRabbit(), startPrivateMariadb()]);
    const admin = await openDatabase(`${mariadb.url}/mysql`);
    await sql.raw('CREATE DATABASE stratus').execute(admin.db);
    await admin.close();
    say(`RabbitMQ on ${rabbit.port}, MariaDB on ${mariadb.port}`);
    const hosts = Array.from({ length: opts.computes }, (_, i) => `cmp-${i + 1}`);
    // Room for a quarter more than the storm, so that capacity is a real limit yet every build fits.
    const vcpus = Math.ceil((opts.servers * 1.25) / opts.computes);
    const d = await startMultiProcess(dir, cleanup, {
      own: { transportUrl: rabbit.url, databaseUrl: `${mariadb.url}/stratus` },
      computeHosts: hosts,
      sharedConfig: [
        '[DEFAULT]',
        `service_down_time = ${opts.serviceDownTime ?? 20}`,
        'cpu_allocation_ratio = 1',
        'ram_allocation_ratio = 1000',
        'disk_allocation_ratio = 1000',
        `osapi_max_limit = ${opts.servers * 2 + 100}`,
        '[database]',
        // Ride out the MariaDB restart (reconnect.ts): up to 60 s of waiting.
        'max_retries = 60',
        'retry_interval = 1',
      ],
      computeConfig: () => ['[fake_driver]', `vcpus = ${vcpus}`, `spawn_delay_ms = ${opts.spawnDelayMs}`],
    });
    // STRATUS_CHAOS_LOGS=<dir>: every service's output is kept there, a killed one's as it died.
    const logDir = process.env['STRATUS_CHAOS_LOGS'];
    const keepLog = (name: string, text: string): void => {
      if (logDir) appendFileSync(join(logDir, `${name}.log`), text);
    };
    cleanup.unshift(async () => {
      for (const name of ['api', 'conductor', 'scheduler', ...hosts]) keepLog(name, d.group.get(name)?.output() ?? '');
    });
    if (logDir) {
      // Once a second: each node's VCPU use as placement counts it, and the claims behind it.
      const sampler = setInterval(() => {
        void sampleUsage(d)
          .then((line) => keepLog('usage', `${new Date().toISOString()} ${line}\n`))
          .catch((err: Error) => keepLog('usage', `${new Date().toISOString()} ${err.message}\n`));
      }, 1000);
      cleanup.unshift(async () => clearInterval(sampler));
    }
    const faults: string[] = [];
    const started = Date.now();
    // As systemd's Restart=on-failure would: a service that exits by itself (one started while the
    // broker was down stops at once, naming it) is started again a second later.
    const killing = new Set<number>();
    let running = true;
    cleanup.unshift(async () => {
      running = false;
    });
    const supervise = (name: string): void => {
      const proc = d.group.start(name, 'stratus', d.commands!.get(name)!);
      void proc.exited.then(async (code) => {
        if (!running || killing.has(proc.child.pid!)) return;
        say(`${name} exited (${code}); starting it again`);
        await sleep(1000);
        if (running) supervise(name);
      });
    };
    const doFault = async (fault: Fault): Promise<void> => {
      const t = ((Date.now() - started) / 1000).toFixed(1);
      if (fault === 'rabbitmq' || fault === 'mariadb') {
        const server = fault === 'rabbitmq' ? rabbit! : mariadb!;
        await server.kill();
        await sleep(1000);
        await server.start();
      } else {
        const name = fault === 'compute' ? hosts[0]! : fault;
        const proc = d.group.get(name);
        if (proc) {
          killing.add(proc.child.pid!);
          proc.child.kill('SIGKILL');
          await proc.exited;
          keepLog(name, proc.output());
        }
        await sleep(1000);
        supervise(name);
      }
      faults.push(`${t}s kill -9 ${fault}${fault === 'rabbitmq' || fault === 'mariadb' ? ' and restart' : ''}`);
      say(`fault: ${faults.at(-1)}`);
    };

    const env = d.env;
    const client = new Client(env['OS_AUTH_URL']!.replace(/\/$/, ''), d.computeUrl);
    await client.login();
    const image = await imageId(d, dir);
    await client.json('POST', '/flavors', { flavor: { name: 'chaos', id: 'chaos', ram: 64, vcpus: 1, disk: 1 } });

    // --- boot storm ---
    const ids = new Map<string, string>(); // name -> id
    const bootStart = Date.now();
    await storm(opts.servers, opts.concurrency, doFault, async (i) => {
      const name = `chaos-${i}`;
      const lookup = async () => {
        const r = await client.request('GET', `/servers?name=${encodeURIComponent(`^${name}$`)}`);
        const found = ((await r.json()) as { servers?: { id: string }[] }).servers ?? [];
        return found.length ? new Response(JSON.stringify({ server: found[0] }), { status: 202 }) : null;
      };
      const r = await client.request(
        'POST',
        '/servers',
        { server: { name, flavorRef: 'chaos', imageRef: image } },
        lookup,
      );
      if (r.status !== 202) throw new Error(`POST /servers ${name}: ${r.status} ${await r.text()}`);
      ids.set(name, ((await r.json()) as { server: { id: string } }).server.id);
    });
    const bootSeconds = (Date.now() - bootStart) / 1000;
    say(`boot storm: ${ids.size} servers accepted in ${bootSeconds.toFixed(1)} s`);
    await settle(client, opts.settleMs, say);

    // --- delete storm: half of them ---
    const doomed = [...ids.values()].filter((_, i) => i % 2 === 0);
    const deleteStart = Date.now();
    await storm(doomed.length, opts.concurrency, doFault, async (i) => {
      const r = await client.request('DELETE', `/servers/${doomed[i]}`);
      if (r.status !== 204 && r.status !== 404) throw new Error(`DELETE ${doomed[i]}: ${r.status} ${await r.text()}`);
    });
    const deleteSeconds = (Date.now() - deleteStart) / 1000;
    say(`delete storm: ${doomed.length} deletes in ${deleteSeconds.toFixed(1)} s`);
    const settleStart = Date.now();
    await settle(client, opts.settleMs, say);
    const settleSeconds = (Date.now() - settleStart) / 1000;

    return {
      servers: opts.servers,
      computes: opts.computes,
      faults,
      ...(await count(client, d, ids, new Set(doomed))),
      bootSeconds,
      deleteSeconds,
      settleSeconds,
    };
  } finally {
    for (const fn of cleanup) await fn().catch(() => undefined);
    await rabbit?.remove();
    await mariadb?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `count` requests `concurrency` at a time, doing the planned faults as the requests go by. */
async function storm(
  total: number,
  concurrency: number,
  doFault: (fault: Fault) => Promise<void>,
  one: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let done = 0;
  const plan = [...PLAN];
  let faulting: Promise<void> = Promise.resolve();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await one(i);
      done += 1;
      // One fault at a time, in the background, while the storm goes on.
      while (plan.length && done >= plan[0]![0] * total) {
        const [, fault] = plan.shift()!;
        faulting = faulting.then(() => doFault(fault));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  for (const [, fault] of plan) faulting = faulting.then(() => doFault(fault));
  await faulting;
}

interface ServerRow {
  id: string;
  name: string;
  status: string;
  'OS-EXT-STS:task_state'?: string | null;
  fault?: { message: string };
}

async function listAll(client: Client): Promise<ServerRow[]> {
  return (await client.json<{ servers: ServerRow[] }>('GET', '/servers/detail?limit=100000')).servers;
}

const transitional = (s: ServerRow) => (s['OS-EXT-STS:task_state'] ?? null) !== null || s.status === 'BUILD';

async function settle(client: Client, settleMs: number, say: (msg: string) => void): Promise<void> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const busy = (await listAll(client)).filter(transitional).length;
    if (busy === 0 || Date.now() > deadline) {
      say(busy ? `not settled: ${busy} servers in a transitional state` : 'settled');
      return;
    }
    await sleep(1000);
  }
}

async function count(
  client: Client,
  d: Deployment,
  ids: Map<string, string>,
  deleted: Set<string>,
): Promise<Omit<ChaosReport, 'servers' | 'computes' | 'faults' | 'bootSeconds' | 'deleteSeconds' | 'settleSeconds'>> {
  const servers = await listAll(client);
  const byId = new Map(servers.map((s) => [s.id, s]));
  const errorFaults: Record<string, number> = {};
  const stuckStates: Record<string, number> = {};
  let active = 0;
  let error = 0;
  let stuck = 0;
  for (const s of servers) {
    if (transitional(s)) {
      stuck += 1;
      const state = `${s.status}/${s['OS-EXT-STS:task_state'] ?? '-'}`;
      stuckStates[state] = (stuckStates[state] ?? 0) + 1;
    } else if (s.status === 'ACTIVE') active += 1;
    else if (s.status === 'ERROR') {
      error += 1;
      // Grouped by kind: ids and ports vary.
      const message = (s.fault?.message ?? '(no fault)').replace(/[0-9a-f-]{8,}|\d{4,}/g, '…').slice(0, 120);
      errorFaults[message] = (errorFaults[message] ?? 0) + 1;
    }
  }
  const lost = [...ids.values()].filter((id) => !deleted.has(id) && !byId.has(id)).length;
  const deletedBack = [...deleted].filter((id) => byId.has(id) && !transitional(byId.get(id)!)).length;
  const names = new Map<string, number>();
  for (const s of servers) names.set(s.name, (names.get(s.name) ?? 0) + 1);
  const duplicated = [...names.values()].filter((n) => n > 1).length;

  const db = d.database.db;
  // Per compute node: what its live instances use, what is claimed on it, and its capacity.
  const capacity = await db
    .selectFrom('compute_nodes')
    .innerJoin('resource_providers', 'resource_providers.uuid', 'compute_nodes.uuid')
    .innerJoin('resource_usages', 'resource_usages.resource_provider_id', 'resource_providers.id')
    .select([
      'compute_nodes.host',
      'resource_usages.resource_class',
      'resource_usages.capacity',
      'resource_usages.used',
    ])
    .where('compute_nodes.deleted_at', 'is', null)
    .execute();
  const instances = await db
    .selectFrom('instances')
    .select(['host', db.fn.sum<number>('vcpus').as('vcpus'), db.fn.sum<number>('memory_mb').as('memory_mb')])
    .where('deleted', '=', 0)
    .where('host', 'is not', null)
    .where('vm_state', '!=', 'error')
    .groupBy('host')
    .execute();
  const use = new Map(instances.map((r) => [r.host!, { VCPU: Number(r.vcpus), MEMORY_MB: Number(r.memory_mb) }]));
  const over = new Set<string>();
  for (const row of capacity) {
    if (row.capacity === null) continue;
    const live = use.get(row.host)?.[row.resource_class as 'VCPU' | 'MEMORY_MB'] ?? 0;
    if (live > row.capacity || row.used > row.capacity) over.add(row.host);
  }
  const live = await db
    .selectFrom('instances')
    .select('uuid')
    .where('deleted', '=', 0)
    .where('host', 'is not', null)
    .where('vm_state', '!=', 'error')
    .execute();
  const claimed = new Set(
    (await db.selectFrom('allocations').select('consumer_id').distinct().execute()).map((r) => r.consumer_id),
  );
  const liveIds = new Set(live.map((r) => r.uuid));
  const leaked = [...claimed].filter((id) => !liveIds.has(id));
  const claimsLeakedStates: Record<string, number> = {};
  for (const row of leaked.length
    ? await db
        .selectFrom('instances')
        .select(['vm_state', 'task_state', 'deleted', 'host'])
        .where('uuid', 'in', leaked)
        .execute()
    : []) {
    const state = `${row.vm_state}/${row.task_state ?? '-'}${row.deleted ? '/deleted' : ''}${row.host ? '' : '/no host'}`;
    claimsLeakedStates[state] = (claimsLeakedStates[state] ?? 0) + 1;
  }
  return {
    claimsLeakedStates,
    active,
    error,
    errorFaults,
    stuck,
    stuckStates,
    lost,
    duplicated,
    deletedBack,
    overcommittedHosts: over.size,
    claimsMissing: [...liveIds].filter((id) => !claimed.has(id)).length,
    claimsLeaked: leaked.length,
  };
}

/** One small raw image, through the real CLI (once: it is slow). */
async function imageId(d: Deployment, dir: string): Promise<string> {
  const file = join(dir, 'chaos.raw');
  writeFileSync(file, Buffer.alloc(4096));
  const image = await d.cli.json<{ id: string }>(
    ...['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, 'chaos'],
  );
  return image.id;
}

/** VCPU used/capacity per compute node, and the consumers holding VCPU claims there. */
async function sampleUsage(d: Deployment): Promise<string> {
  const db = d.database.db;
  const usage = await db
    .selectFrom('resource_usages')
    .select(['resource_provider_id', 'used', 'capacity'])
    .where('resource_class', '=', 'VCPU')
    .execute();
  const claims = await db
    .selectFrom('allocations')
    .select(['resource_provider_id', db.fn.count<number>('consumer_id').as('n')])
    .where('resource_class', '=', 'VCPU')
    .groupBy('resource_provider_id')
    .execute();
  const held = new Map(claims.map((c) => [c.resource_provider_id, Number(c.n)]));
  return usage
    .map(
      (u) => `rp${u.resource_provider_id} used ${u.used}/${u.capacity} claims ${held.get(u.resource_provider_id) ?? 0}`,
    )
    .join('; ');
}
