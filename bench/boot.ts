/**
 * Benchmark `boot`: boots N servers through the REST API (fake driver, no spawn delay) and reports
 * servers/s until all are ACTIVE, POST /servers and GET /servers/detail latencies, and resident memory.
 *   npm run bench -- boot [--servers 1000] [--mode all-in-one|multi] [--concurrency 50] [--singles 20]
 *                         [--quota limited|unlimited] [--network both|none]
 * `multi` runs api, conductor, scheduler and one compute as separate processes on RabbitMQ and MariaDB.
 * `--network both` (the default) then boots the same number again, each server on a network (a port made,
 * an address allocated and bound, the NetworkInfo built and sent), in the same cloud: `with_network` and
 * `network_throughput_ratio` compare the two bursts of one run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase } from '../test/helpers/database.ts';
import { listenSections, passwordToken } from '../test/helpers/deployments.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { ProcessGroup, waitUntil, type ServiceProcess } from '../test/helpers/processes.ts';
import { createVhost } from '../test/helpers/rabbit-vhost.ts';
import { BurstClient, timedGets } from './http-client.ts';
import { CpuMeter, rssMb, sharedServicePids } from './process-cpu.ts';
import { percentile } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[boot] ${msg}\n`);

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const servers = Number(args['servers'] ?? 100);
  const mode = args['mode'] ?? 'all-in-one';
  const concurrency = Number(args['concurrency'] ?? 50);
  const singles = Number(args['singles'] ?? 20);
  // Limits far above what the run makes keep every create counting its project's usage (and, on MariaDB,
  // taking the project's quota lock) without refusing one; `unlimited` measures a create without the check.
  const quota = args['quota'] ?? 'limited';
  if (quota !== 'limited' && quota !== 'unlimited') throw new Error('--quota is limited or unlimited');
  const limit = quota === 'limited' ? 1_000_000_000 : -1;
  const network = args['network'] ?? 'both';
  if (network !== 'both' && network !== 'none') throw new Error('--network is both or none');
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-'));
  const group = new ProcessGroup();
  const cleanup: (() => Promise<void>)[] = [];
  try {
    const [identityPort, computePort, imagePort, networkPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const base = [
      '[DEFAULT]',
      `state_path = ${dir}`,
      'host = bench',
      `osapi_compute_listen_port = ${computePort}`,
      'osapi_compute_listen = 127.0.0.1',
      // All-in-one's metadata service: off the default port, which another run may hold.
      'metadata_listen = 127.0.0.1',
      `metadata_listen_port = ${await freePort()}`,
      `osapi_max_limit = ${Math.max(1000, servers)}`,
      'cpu_allocation_ratio = 1000',
      'ram_allocation_ratio = 1000',
      'disk_allocation_ratio = 1000',
      // The control plane is what this measures; all-in-one would pick the qemu driver where it is installed.
      'compute_driver = fake',
      '[quota]',
      `instances = ${limit}`,
      `cores = ${limit}`,
      `ram = ${limit}`,
      // Network quotas are Neutron's (ports 500 by default): the burst with networks makes a port per server.
      '[network]',
      'listen = 127.0.0.1',
      `listen_port = ${networkPort}`,
      // Not measured here, and its default port may be taken on a shared machine.
      '[dashboard]',
      'enabled = false',
      '[DEFAULT]',
    ];
    const tail = listenSections(identityPort, imagePort, await freePort());
    const measured: ServiceProcess[] = [];
    if (mode === 'multi') {
      const scratch = await createScratchDatabase('mysql');
      const vhost = await createVhost();
      cleanup.push(vhost.remove, scratch.drop);
      writeFileSync(
        join(dir, 's.conf'),
        [...base, `transport_url = ${vhost.url}`, '[database]', `connection = ${scratch.url}`, ...tail].join('\n'),
      );
      const conf = ['--config-file', join(dir, 's.conf')];
      await group.runToEnd('db sync', 'stratus-manage', [...conf, 'db', 'sync']);
      await group.runToEnd('bootstrap', 'stratus-manage', [...conf, 'bootstrap', '--bootstrap-password', 'bench']);
      for (const service of ['conductor', 'scheduler', 'compute', 'api'])
        measured.push(group.start(service, 'stratus', [...conf, service], { STRATUS_LOG_LEVEL: 'warn' }));
    } else {
      writeFileSync(join(dir, 's.conf'), [...base, ...tail].join('\n'));
      measured.push(
        group.start('all-in-one', 'stratus', ['--config-file', join(dir, 's.conf'), 'all-in-one'], {
          OS_BOOTSTRAP_PASSWORD: 'bench',
          STRATUS_LOG_LEVEL: 'warn',
        }),
      );
    }
    const identity = `http://127.0.0.1:${identityPort}/v3`;
    const compute = `http://127.0.0.1:${computePort}/v2.1`;
    await waitUntil(
      'api up',
      () =>
        fetch(`${identity}`).then(
          (r) => r.ok,
          () => false,
        ),
      60_000,
    );
    const token = await passwordToken(identity, 'admin', 'bench', 'admin');
    const headers = { 'x-auth-token': token, 'content-type': 'application/json' };
    await waitUntil(
      'compute host registered',
      async () => {
        const r = await fetch(`${compute}/os-hypervisors`, { headers });
        return r.ok && ((await r.json()) as { hypervisors: unknown[] }).hypervisors.length > 0;
      },
      60_000,
    );
    const imageUrl = `http://127.0.0.1:${imagePort}/v2/images`;
    const image = (await (
      await fetch(imageUrl, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'bench', disk_format: 'raw', container_format: 'bare' }),
      })
    ).json()) as { id: string };
    await fetch(`${imageUrl}/${image.id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(1024),
    });

    await fetch(`${compute}/flavors`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ flavor: { name: 'bench', id: 'bench', ram: 64, vcpus: 1, disk: 1 } }),
    });

    const ownPids = Object.fromEntries(measured.map((p) => [p.name, [p.child.pid!]]));
    const shared = mode === 'multi' ? sharedServicePids(['mariadb', 'rabbitmq']) : {};
    const boot = (label: string, extra: Record<string, unknown>) =>
      bootBurst({ compute, headers, servers, concurrency, label, imageId: image.id, extra, mode }, () => ({
        ...ownPids,
        ...shared,
      }));
    const plain = await boot('b', {});
    const errors = (await (await fetch(`${compute}/servers?status=ERROR`, { headers })).json()) as {
      servers: unknown[];
    };
    if (errors.servers.length) throw new Error(`${errors.servers.length} servers went to ERROR`);
    let withNetwork: BurstFigures | null = null;
    if (network === 'both') {
      const networkApi = `http://127.0.0.1:${networkPort}/v2.0`;
      const net = await postJson<{ network: { id: string } }>(`${networkApi}/networks`, headers, {
        network: { name: 'bench-net' },
      });
      await postJson(`${networkApi}/subnets`, headers, {
        subnet: { network_id: net.network.id, ip_version: 4, cidr: '10.128.0.0/16', name: 'bench-subnet' },
      });
      await fetch(`http://127.0.0.1:${networkPort}/v2.0/quotas/${await projectOf(identity, token)}`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ quota: { port: -1 } }),
      });
      withNetwork = await boot('n', { networks: [{ uuid: net.network.id }] });
    }
    const detailMs = await timedGets(`${compute}/servers/detail?limit=${servers + 10}`, headers, 100, servers * 500);
    // One server alone, POST to ACTIVE, several times, on the warm cloud that booted the N above: a client
    // polls every 2 ms, so the figure is what it sees to within a poll, and the polls leave the CPU to the build.
    const singleMs: number[] = [];
    for (let i = 0; i < singles; i++) {
      const t = performance.now();
      const created = (await (
        await fetch(`${compute}/servers`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ server: { name: `single${i}`, flavorRef: 'bench', imageRef: image.id } }),
        })
      ).json()) as { server: { id: string } };
      for (;;) {
        const r = await fetch(`${compute}/servers/${created.server.id}`, { headers });
        const status = ((await r.json()) as { server: { status: string } }).server.status;
        if (status === 'ACTIVE') break;
        if (status === 'ERROR') throw new Error('the single server went to ERROR');
        if (performance.now() - t > 30_000) throw new Error('the single server did not become ACTIVE in 30 s');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      singleMs.push(performance.now() - t);
      await fetch(`${compute}/servers/${created.server.id}`, { method: 'DELETE', headers });
    }

    const rss = Object.fromEntries(measured.map((p) => [p.name, rssMb(p.child.pid!)]));
    return {
      mode,
      servers,
      quota,
      servers_per_second: plain.servers_per_second,
      single_post_to_active_ms: { p50: percentile(singleMs, 50), p99: percentile(singleMs, 99), runs: singles },
      post_servers_ms: plain.post_servers_ms,
      get_servers_detail_ms: { p50: percentile(detailMs, 50), p99: percentile(detailMs, 99) },
      boot_seconds: plain.boot_seconds,
      cpu_seconds_during_boot: plain.cpu_seconds_during_boot,
      rss_mb: rss,
      ...(withNetwork
        ? {
            with_network: withNetwork,
            network_throughput_ratio:
              Math.round((withNetwork.servers_per_second / plain.servers_per_second) * 100) / 100,
          }
        : {}),
    };
  } finally {
    await group.stopAll();
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface BurstFigures {
  servers_per_second: number;
  post_servers_ms: { p50: number; p99: number };
  boot_seconds: number;
  cpu_seconds_during_boot: Record<string, number>;
}

interface BurstRequest {
  compute: string;
  headers: Record<string, string>;
  servers: number;
  concurrency: number;
  /** Prefix of the servers' names, so two bursts in one cloud stay apart. */
  label: string;
  imageId: string;
  /** More of the create body (networks). */
  extra: Record<string, unknown>;
  mode: string;
}

/** Boots `servers` servers `concurrency` at a time and waits until none is building. */
async function bootBurst(b: BurstRequest, pids: () => Record<string, number[]>): Promise<BurstFigures> {
  say(
    `booting ${b.servers} servers (${b.mode}, ${b.concurrency} requests at once${b.label === 'n' ? ', on a network' : ''})`,
  );
  const postMs: number[] = [];
  const cpu = new CpuMeter(pids);
  cpu.start();
  const burst = new BurstClient(b.concurrency);
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: b.concurrency }, async () => {
      while (next < b.servers) {
        const i = next++;
        const t = performance.now();
        const r = await burst.request('POST', `${b.compute}/servers`, b.headers, {
          server: { name: `${b.label}${i}`, flavorRef: 'bench', imageRef: b.imageId, ...b.extra },
        });
        if (r.status !== 202) throw new Error(`POST /servers answered ${r.status}: ${r.body}`);
        postMs.push(performance.now() - t);
      }
    }),
  );
  burst.close();
  // Polls for what is still building, one row at most and every 20 ms, so the poll costs the API almost
  // nothing and the CPU figures below are the boot's own.
  for (;;) {
    const r = await fetch(`${b.compute}/servers?status=BUILD&limit=1`, { headers: b.headers });
    if (((await r.json()) as { servers: unknown[] }).servers.length === 0) break;
    if (performance.now() - start > 600_000) throw new Error(`${b.servers} servers not ACTIVE after 600 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const bootSeconds = (performance.now() - start) / 1000;
  say(`done: ${b.servers} servers ACTIVE in ${bootSeconds.toFixed(2)} s`);
  return {
    servers_per_second: Math.round((b.servers / bootSeconds) * 10) / 10,
    post_servers_ms: { p50: percentile(postMs, 50), p99: percentile(postMs, 99) },
    boot_seconds: Math.round(bootSeconds * 100) / 100,
    // Where the boot's CPU went, in seconds: on two cores, whichever process nears boot_seconds is the bottleneck.
    cpu_seconds_during_boot: cpu.stop(),
  };
}

async function postJson<T = unknown>(url: string, headers: Record<string, string>, body: unknown): Promise<T> {
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`POST ${url} answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as T;
}

/** The project the token is scoped to. */
async function projectOf(identity: string, token: string): Promise<string> {
  const r = await fetch(`${identity}/auth/tokens`, { headers: { 'x-auth-token': token, 'x-subject-token': token } });
  return ((await r.json()) as { token: { project: { id: string } } }).token.project.id;
}
