/**
 * Benchmark `flood`: a boot storm and a flood of malformed requests at once, and how responsive each
 * service stays. While N servers boot (as in `boot`), several clients send requests every API must
 * refuse: huge and deeply nested bodies, invalid UTF-8, prototype names as actions and properties, a
 * create for 100,000 servers, a thousand metadata items, an oversized header, bad tokens, unknown
 * routes. Meanwhile a prober reads one server again and again. It reports:
 *   - event_loop_delay_ms: per service process, the p99 and the maximum of its event loop's delay over
 *     the storm, from the process's own /metrics (prom-client's monitor, reset by the scrape before);
 *   - get_server_ms: the prober's GET /servers/{id} latency (p50, p99, max);
 *   - flood: requests sent, by answer; any 5xx, reset connection or accepted request is a defect;
 *   - servers_per_second of the storm, and that every server ended ACTIVE.
 *
 *   npm run bench -- flood [--servers 1000] [--mode multi|all-in-one] [--concurrency 50] [--flooders 8]
 */
import http from 'node:http';
import { startBenchCloud, parseBenchMode, type BenchCloud } from './bench-cloud.ts';
import { bootBurst, type BurstFigures } from './boot.ts';
import { sharedServicePids } from './process-cpu.ts';
import { percentile } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[flood] ${msg}\n`);

interface Malformed {
  name: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** What every API must refuse with a 4xx, changing nothing. Built once: the bodies are large. */
function malformedRequests(cloud: BenchCloud, serverId: string): Malformed[] {
  const { compute, identity, image, network, token } = cloud;
  const auth = { 'x-auth-token': token, 'content-type': 'application/json' };
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const metadata = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v']));
  const server = { name: 'flood', flavorRef: 'bench', imageRef: cloud.imageId };
  const list: Malformed[] = [
    {
      name: 'create 100,000 servers',
      method: 'POST',
      url: `${compute}/servers`,
      body: JSON.stringify({ server: { ...server, min_count: 100_000, max_count: 100_000 } }),
    },
    { name: 'nested 100,000 deep', method: 'POST', url: `${compute}/servers`, body: `{"server": ${deep}}` },
    { name: 'nested image body', method: 'POST', url: `${image}/images`, body: deep },
    { name: '2 MiB body', method: 'POST', url: `${compute}/servers`, body: Buffer.alloc(2 * 1024 * 1024, 0x20) },
    {
      name: 'invalid UTF-8',
      method: 'POST',
      url: `${compute}/servers`,
      body: Buffer.concat([Buffer.from('{"server": {"name": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]),
    },
    { name: 'not JSON', method: 'POST', url: `${compute}/servers`, body: '{"server": ' },
    {
      name: 'constructor action',
      method: 'POST',
      url: `${compute}/servers/${serverId}/action`,
      body: '{"constructor": null}',
    },
    {
      name: 'toString action',
      method: 'POST',
      url: `${compute}/servers/${serverId}/action`,
      body: '{"toString": null}',
    },
    {
      name: '1,000 metadata items',
      method: 'POST',
      url: `${compute}/servers/${serverId}/metadata`,
      body: JSON.stringify({ metadata }),
    },
    {
      name: '__proto__ image property',
      method: 'POST',
      url: `${image}/images`,
      body: '{"name": "x", "disk_format": "raw", "container_format": "bare", "__proto__": "y"}',
    },
    {
      name: 'overlapping subnet CIDR of 0 bits',
      method: 'POST',
      url: `${network}/subnets`,
      body: JSON.stringify({ subnet: { network_id: 'nope', ip_version: 4, cidr: '10.0.0.0/0' } }),
    },
    {
      name: '100 KB X-Subject-Token',
      method: 'DELETE',
      url: `${identity}/auth/tokens`,
      headers: { 'x-auth-token': token, 'x-subject-token': 'a'.repeat(100_000) },
    },
    { name: 'bad token', method: 'GET', url: `${compute}/servers`, headers: { 'x-auth-token': 'nope' } },
    { name: 'unknown route', method: 'GET', url: `${compute}/servers/${serverId}/nothing-here` },
  ];
  return list.map((r) => ({ ...r, headers: r.headers ?? auth }));
}

type Outcome = number | 'reset';

function send(agent: http.Agent, r: Malformed): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request(r.url, { method: r.method, agent, headers: r.headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve('reset'));
    });
    req.on('error', () => resolve('reset'));
    req.end(r.body);
  });
}

/** Each service's event-loop delay since its last scrape (p99 and max, ms), from its /metrics. */
async function eventLoopDelays(cloud: BenchCloud): Promise<Record<string, { p99: number; max: number }>> {
  const delays: Record<string, { p99: number; max: number }> = {};
  for (const [service, url] of Object.entries(cloud.metricsUrls)) {
    const text = await (await fetch(url)).text();
    const gauge = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`stratus_nodejs_eventloop_lag_${name}_seconds `));
      if (!line) throw new Error(`${service}: no stratus_nodejs_eventloop_lag_${name}_seconds in ${url}`);
      return Math.round(Number(line.split(' ')[1]) * 1000 * 10) / 10;
    };
    delays[service] = { p99: gauge('p99'), max: gauge('max') };
  }
  return delays;
}

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const servers = Number(args['servers'] ?? 1000);
  const mode = parseBenchMode(args['mode'], 'multi');
  const concurrency = Number(args['concurrency'] ?? 50);
  const flooders = Number(args['flooders'] ?? 8);
  const cloud = await startBenchCloud({ mode, maxLimit: servers + 10, quotaLimit: 1_000_000_000 });
  try {
    const { compute, headers } = cloud;
    const probe = (await (
      await fetch(`${compute}/servers`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ server: { name: 'probe', flavorRef: 'bench', imageRef: cloud.imageId } }),
      })
    ).json()) as { server: { id: string } };
    const requests = malformedRequests(cloud, probe.server.id);
    await eventLoopDelays(cloud); // the scrape resets each monitor: what follows is the storm's

    let storming = true;
    const outcomes = new Map<string, Map<Outcome, number>>();
    const floodAgent = new http.Agent({ keepAlive: true, maxSockets: flooders });
    const flood = Promise.all(
      Array.from({ length: flooders }, async (_, worker) => {
        for (let i = worker; storming; i++) {
          const r = requests[i % requests.length]!;
          const outcome = await send(floodAgent, r);
          const byOutcome = outcomes.get(r.name) ?? new Map<Outcome, number>();
          byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
          outcomes.set(r.name, byOutcome);
        }
      }),
    );
    const probeMs: number[] = [];
    const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const prober = (async () => {
      while (storming) {
        const t = performance.now();
        const status = await send(probeAgent, {
          name: 'probe',
          method: 'GET',
          url: `${compute}/servers/${probe.server.id}`,
          headers,
        });
        if (status !== 200) throw new Error(`GET /servers/{id} answered ${status} during the storm`);
        probeMs.push(performance.now() - t);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const pids = Object.fromEntries(cloud.processes.map((p) => [p.name, [p.child.pid!]]));
    const shared = mode === 'multi' ? sharedServicePids(['mariadb', 'rabbitmq']) : {};
    let storm: BurstFigures;
    try {
      storm = await bootBurst(
        { compute, headers, servers, concurrency, label: 's', imageId: cloud.imageId, extra: {}, mode },
        () => ({ ...pids, ...shared }),
      );
    } finally {
      storming = false;
      await Promise.all([flood, prober]);
      floodAgent.destroy();
      probeAgent.destroy();
    }
    const delays = await eventLoopDelays(cloud);
    const errors = (await (await fetch(`${compute}/servers?status=ERROR`, { headers })).json()) as {
      servers: unknown[];
    };

    const byRequest: Record<string, Record<string, number>> = {};
    let sent = 0;
    const defects: string[] = [];
    for (const [name, byOutcome] of outcomes) {
      byRequest[name] = Object.fromEntries(byOutcome);
      for (const [outcome, count] of byOutcome) {
        sent += count;
        if (outcome === 'reset' || outcome >= 500 || outcome < 400) defects.push(`${name}: ${outcome} ×${count}`);
      }
    }
    say(
      `${sent} malformed requests during the storm; ${defects.length ? defects.join('; ') : 'all refused with a 4xx'}`,
    );
    return {
      mode,
      servers,
      servers_per_second: storm.servers_per_second,
      servers_in_error: errors.servers.length,
      event_loop_delay_ms: delays,
      get_server_ms: {
        p50: percentile(probeMs, 50),
        p99: percentile(probeMs, 99),
        max: Math.round(Math.max(...probeMs) * 100) / 100,
        requests: probeMs.length,
      },
      flood: {
        requests: sent,
        per_second: Math.round((sent / storm.boot_seconds) * 10) / 10,
        defects,
        answers: byRequest,
      },
    };
  } finally {
    await cloud.close();
  }
}
