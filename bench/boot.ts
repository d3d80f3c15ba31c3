/**
 * Benchmark `boot`: boots N servers through the REST API (fake driver, no spawn delay) and reports
 * servers/s until all are ACTIVE, POST /servers and GET /servers/detail latencies, and resident memory.
 *   npm run bench -- boot [--servers 1000] [--mode all-in-one|multi] [--concurrency 50] [--singles 20]
 *                         [--quota limited|unlimited] [--network both|none] [--warmup 100]
 * `multi` runs api, conductor, scheduler and one compute as separate processes on RabbitMQ and MariaDB.
 * `--network both` (the default) boots N servers four times in one cloud, each burst in a project of its
 * own: plain, on a network (a port made, an address allocated and bound, the NetworkInfo built and sent),
 * on a network, plain. `servers_per_second` and the other top-level figures are the two plain bursts
 * together, `with_network` the two on a network, `network_throughput_ratio` the second over the first,
 * and `bursts` each burst in order. `--network none` boots one plain burst. Before the measured bursts,
 * one unmeasured burst of `--warmup` servers (default the smaller of N and 100; 0 for none) of each kind.
 */
import { parseBenchMode, startBenchCloud } from './bench-cloud.ts';
import { BurstClient, timedGets } from './http-client.ts';
import { CpuMeter, rssMb, sharedServicePids } from './process-cpu.ts';
import { percentile } from './stats.ts';
import { passwordToken } from '../test/helpers/deployments.ts';

const say = (msg: string) => process.stderr.write(`[boot] ${msg}\n`);

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const servers = Number(args['servers'] ?? 100);
  const mode = parseBenchMode(args['mode'], 'all-in-one');
  const concurrency = Number(args['concurrency'] ?? 50);
  const singles = Number(args['singles'] ?? 20);
  // Limits far above what the run makes keep every create counting its project's usage (and, on MariaDB,
  // taking the project's quota lock) without refusing one; `unlimited` measures a create without the check.
  const quota = args['quota'] ?? 'limited';
  if (quota !== 'limited' && quota !== 'unlimited') throw new Error('--quota is limited or unlimited');
  const limit = quota === 'limited' ? 1_000_000_000 : -1;
  const network = args['network'] ?? 'both';
  const warmup = Number(args['warmup'] ?? Math.min(servers, 100));
  if (network !== 'both' && network !== 'none') throw new Error('--network is both or none');
  const cloud = await startBenchCloud({ mode, maxLimit: servers, quotaLimit: limit });
  try {
    const { compute, headers, identity, token } = cloud;
    const measured = cloud.processes;
    const ownPids = Object.fromEntries(measured.map((p) => [p.name, [p.child.pid!]]));
    const shared = mode === 'multi' ? sharedServicePids(['mariadb', 'rabbitmq']) : {};
    const boot = (label: string, extra: Record<string, unknown>, burstHeaders: Record<string, string>, size: number) =>
      bootBurst(
        { compute, headers: burstHeaders, servers: size, concurrency, label, imageId: cloud.imageId, extra, mode },
        () => ({
          ...ownPids,
          ...shared,
        }),
      );
    // Each burst runs in a project of its own, empty like the first: a create counts its project's
    // instances for the quota check, and a burst in a project that already holds the others' servers
    // would pay for the order of the bursts. The cloud itself still grows from burst to burst (a later
    // burst of the same servers runs some 10 to 30% slower), so with networks the bursts go plain, on a
    // network, on a network, plain (ABBA): the growth falls on both kinds alike, and each kind's figures
    // are its two bursts together.
    //
    // Before them, unmeasured, a warm-up burst of each kind: the first requests of a path run before V8
    // has compiled it, and that cost would fall on whichever burst came first (the last plain burst ran
    // up to 40% faster than the first without it).
    const order = network === 'both' ? [false, true, true, false] : [false];
    const warmUps = warmup > 0 ? (network === 'both' ? [false, true] : [false]) : [];
    const burstIn = async (name: string, onNetwork: boolean, size: number) => {
      const project = await scopedToProject(identity, token, name);
      const projectHeaders = { ...headers, 'x-auth-token': project.token };
      const extra = onNetwork ? { networks: [{ uuid: await benchNetwork(cloud.network, headers, project) }] } : {};
      const figures = await boot(`${name}-`, extra, projectHeaders, size);
      const errors = (await (await fetch(`${compute}/servers?status=ERROR`, { headers: projectHeaders })).json()) as {
        servers: unknown[];
      };
      if (errors.servers.length) throw new Error(`${errors.servers.length} servers went to ERROR`);
      return figures;
    };
    for (const [i, onNetwork] of warmUps.entries()) await burstIn(`bench-warmup-${i}`, onNetwork, warmup);
    const bursts: (BurstFigures & { on_network: boolean; postMs: number[] })[] = [];
    for (const [i, onNetwork] of order.entries()) {
      bursts.push({ on_network: onNetwork, ...(await burstIn(`bench-burst-${i}`, onNetwork, servers)) });
    }
    const plain = together(
      bursts.filter((b) => !b.on_network),
      servers,
    );
    const withNetwork =
      network === 'both'
        ? together(
            bursts.filter((b) => b.on_network),
            servers,
          )
        : null;
    // Every project's servers, newest first: with both bursts, mostly the ones with addresses.
    const detailMs = await timedGets(
      `${compute}/servers/detail?all_tenants=1&limit=${servers + 10}`,
      headers,
      100,
      servers * 500,
    );
    // One server alone, POST to ACTIVE, several times, on the warm cloud that booted the N above: a client
    // polls every 2 ms, so the figure is what it sees to within a poll, and the polls leave the CPU to the build.
    const singleMs: number[] = [];
    for (let i = 0; i < singles; i++) {
      const t = performance.now();
      const created = (await (
        await fetch(`${compute}/servers`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ server: { name: `single${i}`, flavorRef: 'bench', imageRef: cloud.imageId } }),
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
      warmup,
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
            bursts: bursts.map(({ postMs: _postMs, ...figures }) => figures),
            network_throughput_ratio:
              Math.round((withNetwork.servers_per_second / plain.servers_per_second) * 100) / 100,
          }
        : {}),
    };
  } finally {
    await cloud.close();
  }
}

export interface BurstFigures {
  servers_per_second: number;
  post_servers_ms: { p50: number; p99: number };
  boot_seconds: number;
  cpu_seconds_during_boot: Record<string, number>;
}

export interface BurstRequest {
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
export async function bootBurst(
  b: BurstRequest,
  pids: () => Record<string, number[]>,
): Promise<BurstFigures & { postMs: number[] }> {
  say(
    `booting ${b.servers} servers (${b.mode}, ${b.concurrency} requests at once${'networks' in b.extra ? ', on a network' : ''})`,
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
    postMs,
  };
}

/** The figures of several bursts of one kind as if they were one: their servers over their time. */
function together(bursts: readonly (BurstFigures & { postMs: number[] })[], serversEach: number): BurstFigures {
  const servers = serversEach * bursts.length;
  const seconds = bursts.reduce((n, b) => n + b.boot_seconds, 0);
  const postMs = bursts.flatMap((b) => b.postMs);
  const cpu: Record<string, number> = {};
  for (const b of bursts)
    for (const [name, s] of Object.entries(b.cpu_seconds_during_boot))
      cpu[name] = Math.round(((cpu[name] ?? 0) + s) * 100) / 100;
  return {
    servers_per_second: Math.round((servers / seconds) * 10) / 10,
    post_servers_ms: { p50: percentile(postMs, 50), p99: percentile(postMs, 99) },
    boot_seconds: Math.round(seconds * 100) / 100,
    cpu_seconds_during_boot: cpu,
  };
}

/** A network with a /16 subnet in the project, and no port quota: the network each of its servers asks for. */
async function benchNetwork(
  networkApi: string,
  adminHeaders: Record<string, string>,
  project: { id: string; token: string },
): Promise<string> {
  const headers = { ...adminHeaders, 'x-auth-token': project.token };
  const net = await postJson<{ network: { id: string } }>(`${networkApi}/networks`, headers, {
    network: { name: 'bench-net' },
  });
  await postJson(`${networkApi}/subnets`, headers, {
    subnet: { network_id: net.network.id, ip_version: 4, cidr: '10.128.0.0/16', name: 'bench-subnet' },
  });
  await fetch(`${networkApi}/quotas/${project.id}`, {
    method: 'PUT',
    headers: adminHeaders,
    body: JSON.stringify({ quota: { port: -1 } }),
  });
  return net.network.id;
}

async function postJson<T = unknown>(url: string, headers: Record<string, string>, body: unknown): Promise<T> {
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`POST ${url} answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as T;
}

/** A new project `name` with the admin token's user as its admin, and a token scoped to it. */
async function scopedToProject(
  identity: string,
  adminToken: string,
  name: string,
): Promise<{ id: string; token: string }> {
  const headers = { 'x-auth-token': adminToken, 'content-type': 'application/json' };
  const current = (await (
    await fetch(`${identity}/auth/tokens`, { headers: { ...headers, 'x-subject-token': adminToken } })
  ).json()) as { token: { user: { id: string; name: string }; roles: { id: string; name: string }[] } };
  const admin = current.token.roles.find((r) => r.name === 'admin');
  if (!admin) throw new Error('the bench token has no admin role');
  const project = await postJson<{ project: { id: string } }>(`${identity}/projects`, headers, {
    project: { name, domain_id: 'default' },
  });
  const assigned = await fetch(
    `${identity}/projects/${project.project.id}/users/${current.token.user.id}/roles/${admin.id}`,
    { method: 'PUT', headers },
  );
  if (!assigned.ok) throw new Error(`assigning admin on ${name} answered ${assigned.status}`);
  return {
    id: project.project.id,
    token: await passwordToken(identity, current.token.user.name, 'bench', name),
  };
}
