/**
 * Benchmark `scheduler`: the scheduler alone against a simulated fleet, with every implemented filter and
 * weigher enabled (FILTERS and WEIGHERS of options.ts, the values `[filter_scheduler] enabled_filters` and
 * `weight_classes` accept, so filters added later are measured too).
 *   npm run bench -- scheduler [--hosts 1000] [--engine sqlite|mariadb|postgresql] [--requests 1000]
 *     [--batch-requests 30] [--batch-size 100] [--schedulers 4] [--claims 4000] [--concurrency 4]
 *     [--subset 1] [--refresh-interval 1] [--claims-only 1]
 * Phases, each on the same scratch database:
 * 1. fill: N hosts written in multi-row inserts (bench/scheduler-fleet.ts);
 * 2. view: the scheduler's in-memory view loaded three times; its load time and the memory it holds per
 *    host, heap and typed arrays (and, after phase 3's one-instance requests, the time a view loaded
 *    before them takes to reload);
 * 3. select_destinations, one request at a time on one SchedulerManager, real claims included:
 *    `--requests` requests of one instance, then `--batch-requests` of `--batch-size` instances;
 * 4. claims: `--schedulers` scheduler processes (bench/scheduler-claimer.ts), each with its own view and
 *    connection pool, placing `--claims` single instances between them, `--concurrency` requests at a
 *    time each, all started at once; then every inventory is checked against overcommit and every usage
 *    row against its allocations. With `--claims-only 1` the processes claim on random nodes without
 *    scheduling: the database path alone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type RawOverrides } from '../src/common/config/load-config.ts';
import { FILTERS, OPTIONS, WEIGHERS } from '../src/common/config/options.ts';
import { adminContext } from '../src/common/context.ts';
import { openDatabase, type Database } from '../src/common/db/database.ts';
import { syncSchema } from '../src/common/db/migrator.ts';
import { providerUsages } from '../src/placement/providers.ts';
import { capacity } from '../src/placement/resource-classes.ts';
import { HostStateCache } from '../src/scheduler/host-state-cache.ts';
import { SchedulerManager } from '../src/scheduler/manager.ts';
import { createScratchDatabase } from '../test/helpers/database.ts';
import { testSpec } from '../test/helpers/request-spec.ts';
import type { ClaimerMessage, ClaimerOrders } from './scheduler-claimer.ts';
import { CpuMeter, sharedServicePids } from './process-cpu.ts';
import { fillFleet } from './scheduler-fleet.ts';
import { percentile, round } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[scheduler] ${msg}\n`);

const ENGINES = { sqlite: 'sqlite', mariadb: 'mysql', postgresql: 'postgres' } as const;

async function scratchDatabase(engine: string, dir: string): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!(engine in ENGINES)) throw new Error(`--engine: expected one of ${Object.keys(ENGINES).join(', ')}`);
  const dialect = ENGINES[engine as keyof typeof ENGINES];
  if (dialect === 'sqlite') return { url: `sqlite:///${join(dir, 'bench.sqlite')}`, drop: async () => undefined };
  return createScratchDatabase(dialect);
}

function collectGarbage(): void {
  if (!global.gc) throw new Error('run with node --expose-gc (npm run bench does)');
  global.gc();
  global.gc();
}

/** The heap, plus the typed arrays' buffers, which live outside it (the view's columns). */
function heldMemory(): number {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Loads the view as the scheduler does; returns load times and the heap the view holds per host. */
async function measureView(database: Database, config: ReturnType<typeof loadConfig>, hosts: number) {
  const loadMs: number[] = [];
  const heldBytes: number[] = [];
  // Every view stays referenced until the end, so none is collected while the next one is measured.
  const views: unknown[] = [];
  for (let run = 0; run < 3; run++) {
    collectGarbage();
    const before = heldMemory();
    const cache = new HostStateCache(database.db, config);
    const t = performance.now();
    const view = await cache.reload();
    loadMs.push(performance.now() - t);
    views.push(view);
    collectGarbage();
    heldBytes.push(heldMemory() - before);
    if (view.hosts.length === 0) throw new Error('the view is empty: the fleet was not written');
  }
  // The first load also leaves behind what the first run of any code does (compiled code, caches).
  const bytesPerHost = percentile(heldBytes, 50, 3) / hosts;
  return { load_ms: loadMs.map((ms) => round(ms, 1)), bytes_per_host: Math.round(bytesPerHost) };
}

/** `requests` calls of select_destinations for `size` instances each, one at a time. */
async function measureSelect(manager: SchedulerManager, requests: number, size: number) {
  const spec = testSpec({}, { num_instances: size });
  const ms: number[] = [];
  const cpuMs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < requests; i++) {
    const uuids = Array.from({ length: size }, () => randomUUID());
    const t = performance.now();
    const cpu = process.cpuUsage();
    await manager.selectDestinations(adminContext(), spec, uuids);
    ms.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1000);
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    requests,
    p50_ms: percentile(ms, 50, 3),
    p99_ms: percentile(ms, 99, 3),
    max_ms: percentile(ms, 100, 3),
    // This process's CPU time per request: unlike the wall time, not stretched when other processes on
    // the machine get the CPU (though still by their cache and memory traffic).
    cpu_p50_ms: percentile(cpuMs, 50, 3),
    cpu_p99_ms: percentile(cpuMs, 99, 3),
    requests_per_second: round(requests / seconds, 1),
    instances_per_second: round((requests * size) / seconds, 1),
  };
}

/** Several scheduler processes placing at once with real claims. */
async function measureClaims(
  engine: string,
  url: string,
  overrides: RawOverrides,
  schedulers: number,
  claims: number,
  concurrency: number,
  claimsOnly: boolean,
) {
  const script = fileURLToPath(new URL('./scheduler-claimer.ts', import.meta.url));
  const children: ChildProcess[] = [];
  const profileDir = process.env['STRATUS_BENCH_PROFILE_DIR'];
  try {
    const results: Promise<Extract<ClaimerMessage, { kind: 'done' }>>[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < schedulers; i++) {
      const orders: ClaimerOrders = {
        url,
        overrides,
        count: Math.floor(claims / schedulers) + (i < claims % schedulers ? 1 : 0),
        concurrency,
        claimsOnly,
      };
      const child = fork(script, [JSON.stringify(orders)], {
        // STRATUS_BENCH_PROFILE_DIR=DIR: a CPU profile of each scheduler process (node --cpu-prof) in DIR.
        execArgv: ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
        env: { ...process.env, STRATUS_LOG_LEVEL: 'warn' },
      });
      children.push(child);
      const exited = new Promise<never>((_, reject) =>
        child.once('exit', (code) => reject(new Error(`scheduler process ${i} exited with ${code} before reporting`))),
      );
      const waitFor = <K extends ClaimerMessage['kind']>(kind: K) =>
        Promise.race([
          exited,
          new Promise<Extract<ClaimerMessage, { kind: K }>>((resolve) => {
            const onMessage = (m: ClaimerMessage) => {
              if (m.kind !== kind) return;
              child.off('message', onMessage);
              resolve(m as Extract<ClaimerMessage, { kind: K }>);
            };
            child.on('message', onMessage);
          }),
        ]);
      ready.push(waitFor('ready').then(() => undefined));
      results.push(waitFor('done'));
    }
    await Promise.all(ready);
    say(`${schedulers} scheduler processes ready; placing ${claims} instances`);
    // The database server's CPU as well as the schedulers': the server is shared with whatever else runs.
    const server = engine === 'sqlite' ? [] : [engine];
    const cpu = new CpuMeter(() => sharedServicePids(server));
    cpu.start();
    for (const child of children) child.send('go');
    const done = await Promise.all(results);
    const cpuSecondsUsed = cpu.stop();
    const seconds = (Math.max(...done.map((d) => d.endedAt)) - Math.min(...done.map((d) => d.startedAt))) / 1000;
    const placed = done.reduce((sum, d) => sum + d.placed, 0);
    const cpuSeconds = { schedulers: done.reduce((sum, d) => sum + d.cpuSeconds, 0), ...cpuSecondsUsed };
    return {
      claims_only: claimsOnly,
      schedulers,
      concurrency_per_scheduler: concurrency,
      placed,
      refused: done.reduce((sum, d) => sum + d.refused, 0),
      seconds: round(seconds),
      placements_per_second: round(placed / seconds, 1),
      cpu_seconds: Object.fromEntries(Object.entries(cpuSeconds).map(([k, v]) => [k, round(v)])),
      // Per placement: the steadier figure on a shared machine (wall time stretches, CPU time less).
      cpu_ms_per_placement: Object.fromEntries(
        Object.entries(cpuSeconds).map(([k, v]) => [k, round((v * 1000) / placed)]),
      ),
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/**
 * Fails the run if any inventory ended above (total - reserved) * allocation_ratio, or if a usage row is
 * not the sum of its allocations (claims and releases write both in one transaction).
 */
async function checkNoOvercommit(database: Database): Promise<number> {
  const sums = await database.db
    .selectFrom('allocations')
    .select(['resource_provider_id', 'resource_class'])
    .select((eb) => eb.fn.sum<number | string>('used').as('used'))
    .groupBy(['resource_provider_id', 'resource_class'])
    .execute();
  const allocated = new Map(sums.map((s) => [`${s.resource_provider_id}:${s.resource_class}`, Number(s.used)]));
  for (const u of await database.db.selectFrom('resource_usages').selectAll().execute()) {
    const sum = allocated.get(`${u.resource_provider_id}:${u.resource_class}`) ?? 0;
    if (u.used !== sum) {
      throw new Error(`provider ${u.resource_provider_id} ${u.resource_class}: usage ${u.used}, allocations ${sum}`);
    }
  }
  let inventories = 0;
  for (const [uuid, usage] of await providerUsages(database.db)) {
    for (const [resourceClass, inventory] of Object.entries(usage.inventories)) {
      inventories++;
      const used = usage.usages[resourceClass] ?? 0;
      if (used > capacity(inventory)) throw new Error(`${uuid} ${resourceClass} overcommitted: ${used} used`);
    }
  }
  return inventories;
}

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const hosts = Number(args['hosts'] ?? 1000);
  const engine = args['engine'] ?? 'sqlite';
  const requests = Number(args['requests'] ?? 1000);
  const batchRequests = Number(args['batch-requests'] ?? 30);
  const batchSize = Number(args['batch-size'] ?? 100);
  const schedulers = Number(args['schedulers'] ?? 4);
  const claims = Number(args['claims'] ?? 4000);
  const concurrency = Number(args['concurrency'] ?? 4);
  const claimsOnly = ['1', 'true'].includes(args['claims-only'] ?? '');
  const filters = [...FILTERS];
  const weighers = [...WEIGHERS];
  const overrides: RawOverrides = {
    // No compute service heartbeats during the run: the up hosts must stay up for its minutes.
    DEFAULT: { service_down_time: '86400' },
    scheduler: {
      host_state_refresh_interval:
        args['refresh-interval'] ?? String(OPTIONS.scheduler.host_state_refresh_interval.default),
    },
    filter_scheduler: {
      enabled_filters: filters.join(','),
      weight_classes: weighers.join(','),
      host_subset_size: args['subset'] ?? '1',
    },
  };
  const config = loadConfig([], overrides);
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-scheduler-'));
  const scratch = await scratchDatabase(engine, dir);
  // As a scheduler service opens its database (openConfiguredDatabase).
  const database = await openDatabase(scratch.url, {
    maxPoolSize: config.database.max_pool_size,
    checkpointInBackground: true,
  });
  try {
    await syncSchema(database);
    say(`writing ${hosts} hosts to ${engine}`);
    let t = performance.now();
    const { usable } = await fillFleet(database.db, config, hosts);
    const fillSeconds = (performance.now() - t) / 1000;
    say(`filled in ${fillSeconds.toFixed(1)} s; loading the view`);
    const view = await measureView(database, config, hosts);
    say(`view: ${view.load_ms.join(', ')} ms, ${view.bytes_per_host} bytes per host`);

    const manager = new SchedulerManager(database, config);
    await manager.selectDestinations(adminContext(), testSpec({}, { num_instances: 1 }), [randomUUID()]);
    // A view loaded now and reloaded after the one-instance requests: what an incremental reload costs
    // after that many placements (it reads what changed since its last load, less a margin).
    const watcher = new HostStateCache(database.db, config);
    await watcher.reload();
    t = performance.now();
    const single = await measureSelect(manager, requests, 1);
    t = performance.now();
    await watcher.reload();
    const incrementalReloadMs = round(performance.now() - t, 1);
    say(`view reloaded after ${requests} placements in ${incrementalReloadMs} ms`);
    say(
      `1 instance: p50 ${single.p50_ms} ms, p99 ${single.p99_ms} ms (CPU p50 ${single.cpu_p50_ms}, p99 ${single.cpu_p99_ms})`,
    );
    const batch = await measureSelect(manager, batchRequests, batchSize);
    say(`${batchSize} instances: p50 ${batch.p50_ms} ms, p99 ${batch.p99_ms} ms`);

    const claimFigures =
      schedulers > 0
        ? await measureClaims(engine, scratch.url, overrides, schedulers, claims, concurrency, claimsOnly)
        : null;
    if (claimFigures) say(`claims: ${claimFigures.placements_per_second} placements/s`);
    const checked = await checkNoOvercommit(database);
    return {
      engine,
      hosts,
      usable_hosts: usable,
      filters,
      weighers,
      host_subset_size: config.filter_scheduler.host_subset_size,
      host_state_refresh_interval: config.scheduler.host_state_refresh_interval,
      fill_seconds: round(fillSeconds, 1),
      view_load_ms: view.load_ms,
      view_bytes_per_host: view.bytes_per_host,
      view_reload_after_requests_ms: incrementalReloadMs,
      select_destinations: { '1': single, [String(batchSize)]: batch },
      claims: claimFigures,
      inventories_checked_no_overcommit: checked,
    };
  } finally {
    await database.close();
    await scratch.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
