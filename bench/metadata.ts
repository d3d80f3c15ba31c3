/**
 * Benchmark `metadata`: `stratus metadata` (its own process, on SQLite) answering meta_data.json to
 * many guests, each request signed as the datapath's proxy signs it. First a boot storm (every instance
 * asks once, all reads are cache misses), then steady reads (cached), concurrent throughout.
 *   npm run bench -- metadata [--instances 1000] [--requests 20000] [--concurrency 64]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signInstanceId } from '../src/api/metadata/identify.ts';
import { openDatabase } from '../src/common/db/database.ts';
import { syncSchema } from '../src/common/db/migrator.ts';
import { createInstancePort } from '../src/network/server-ports.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { insertTestInstance } from '../test/helpers/instance-rows.ts';
import { createTestNetwork } from '../test/helpers/networks.ts';
import { ProcessGroup, waitUntil } from '../test/helpers/processes.ts';
import { percentile, round } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[metadata] ${msg}\n`);
const SECRET = 'bench-secret';

interface Guest {
  uuid: string;
  ip: string;
  project: string;
}

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const instances = Number(args['instances'] ?? 1000);
  const requests = Number(args['requests'] ?? 20_000);
  const concurrency = Number(args['concurrency'] ?? 64);
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-md-'));
  const group = new ProcessGroup();
  try {
    const url = `sqlite:///${dir}/stratus.sqlite`;
    const database = await openDatabase(url);
    await syncSchema(database);
    say(`seeding ${instances} instances, each with a port`);
    const guests: Guest[] = [];
    for (let n = 0; n * 250 < instances; n++) {
      // A project per network: Neutron's port quota (500 a project) would stop one project's ports.
      const project = `project-${n}`;
      const net = await createTestNetwork(database.db, { projectId: project, name: `n${n}`, prefix: `10.${n}.0` });
      for (let i = 0; i < 250 && guests.length < instances; i++) {
        const uuid = await insertTestInstance(database.db, { project, host: 'h1' });
        const ip = `10.${n}.0.${i + 2}`;
        await createInstancePort(
          database.db,
          { projectId: project, networkId: net.id, fixedIp: ip, securityGroups: ['default'] },
          { deviceId: uuid, deviceOwner: 'compute:nova', hostId: 'h1' },
        );
        guests.push({ uuid, ip, project });
      }
    }
    await database.close();
    const port = await freePort();
    writeFileSync(
      join(dir, 'md.conf'),
      [
        '[DEFAULT]',
        `state_path = ${dir}`,
        'metadata_listen = 127.0.0.1',
        `metadata_listen_port = ${port}`,
        '[neutron]',
        'service_metadata_proxy = true',
        `metadata_proxy_shared_secret = ${SECRET}`,
        '[database]',
        `connection = ${url}`,
        '',
      ].join('\n'),
    );
    group.start('metadata', 'stratus', ['--config-file', join(dir, 'md.conf'), 'metadata'], {
      STRATUS_LOG_LEVEL: 'warn',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitUntil(
      'metadata up',
      () =>
        fetch(`${base}/`).then(
          (r) => r.ok,
          () => false,
        ),
      60_000,
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const get = (guest: Guest) => timedGet(agent, `${base}/openstack/latest/meta_data.json`, guest);

    say(`boot storm: ${instances} instances ask once, ${concurrency} at a time`);
    const storm = await burst(guests, concurrency, get);
    say(`steady: ${requests} requests over random instances`);
    const picks = Array.from({ length: requests }, () => guests[Math.floor(Math.random() * guests.length)]!);
    const steady = await burst(picks, concurrency, get);
    agent.destroy();
    return {
      instances,
      concurrency,
      storm_requests_per_s: round(storm.perSecond, 0),
      storm_p50_ms: percentile(storm.latencies, 50),
      storm_p99_ms: percentile(storm.latencies, 99),
      requests,
      requests_per_s: round(steady.perSecond, 0),
      p50_ms: percentile(steady.latencies, 50),
      p99_ms: percentile(steady.latencies, 99),
    };
  } finally {
    await group.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `get` over `items`, `concurrency` at a time; every answer must be a 200. */
async function burst(
  items: readonly Guest[],
  concurrency: number,
  get: (g: Guest) => Promise<number>,
): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) latencies.push(await get(items[next++]!));
    }),
  );
  return { perSecond: items.length / ((performance.now() - started) / 1000), latencies };
}

/** One signed GET; its latency in ms. */
function timedGet(agent: http.Agent, url: string, guest: Guest): Promise<number> {
  const headers = {
    'X-Instance-ID': guest.uuid,
    'X-Instance-ID-Signature': signInstanceId(SECRET, guest.uuid),
    'X-Tenant-ID': guest.project,
    'X-Forwarded-For': guest.ip,
  };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${guest.uuid}: HTTP ${res.statusCode}`));
          else resolve(performance.now() - started);
        });
      })
      .on('error', reject);
  });
}
