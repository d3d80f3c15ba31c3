/**
 * Benchmark `boot`: boots N servers through the REST API (fake driver, no spawn delay) and reports
 * servers/s until all are ACTIVE, POST /servers and GET /servers/detail latencies, and resident memory.
 *   npm run bench -- boot [--servers 1000] [--mode all-in-one|multi] [--concurrency 50] [--singles 20]
 *                         [--quota limited|unlimited]
 * `multi` runs api, conductor, scheduler and one compute as separate processes on RabbitMQ and MariaDB.
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
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-'));
  const group = new ProcessGroup();
  const cleanup: (() => Promise<void>)[] = [];
  try {
    const [identityPort, computePort, imagePort] = [await freePort(), await freePort(), await freePort()];
    const base = [
      '[DEFAULT]',
      `state_path = ${dir}`,
      'host = bench',
      `osapi_compute_listen_port = ${computePort}`,
      'osapi_compute_listen = 127.0.0.1',
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

    say(`booting ${servers} servers (${mode}, ${concurrency} requests at once)`);
    const postMs: number[] = [];
    const ownPids = Object.fromEntries(measured.map((p) => [p.name, [p.child.pid!]]));
    const shared = mode === 'multi' ? sharedServicePids(['mariadb', 'rabbitmq']) : {};
    const cpu = new CpuMeter(() => ({ ...ownPids, ...shared }));
    cpu.start();
    const burst = new BurstClient(concurrency);
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < servers) {
          const i = next++;
          const t = performance.now();
          const r = await burst.request('POST', `${compute}/servers`, headers, {
            server: { name: `b${i}`, flavorRef: 'bench', imageRef: image.id },
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
      const r = await fetch(`${compute}/servers?status=BUILD&limit=1`, { headers });
      if (((await r.json()) as { servers: unknown[] }).servers.length === 0) break;
      if (performance.now() - start > 600_000) throw new Error(`${servers} servers not ACTIVE after 600 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const bootSeconds = (performance.now() - start) / 1000;
    // Where the boot's CPU went, in seconds: on two cores, whichever process nears bootSeconds is the bottleneck.
    const cpuDuringBoot = cpu.stop();
    const errors = (await (await fetch(`${compute}/servers?status=ERROR`, { headers })).json()) as {
      servers: unknown[];
    };
    if (errors.servers.length) throw new Error(`${errors.servers.length} servers went to ERROR`);
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
    say(`done: ${servers} servers ACTIVE in ${bootSeconds.toFixed(2)} s`);
    return {
      mode,
      servers,
      quota,
      servers_per_second: Math.round((servers / bootSeconds) * 10) / 10,
      single_post_to_active_ms: { p50: percentile(singleMs, 50), p99: percentile(singleMs, 99), runs: singles },
      post_servers_ms: { p50: percentile(postMs, 50), p99: percentile(postMs, 99) },
      get_servers_detail_ms: { p50: percentile(detailMs, 50), p99: percentile(detailMs, 99) },
      boot_seconds: Math.round(bootSeconds * 100) / 100,
      cpu_seconds_during_boot: cpuDuringBoot,
      rss_mb: rss,
    };
  } finally {
    await group.stopAll();
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
