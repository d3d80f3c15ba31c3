/**
 * A cloud for the control-plane benchmarks (boot, flood): the fake driver with no spawn delay, either as
 * all-in-one or as api, conductor, scheduler and one compute in processes of their own on RabbitMQ and
 * MariaDB (`multi`), with an admin token, a 1 KiB image and a `bench` flavor (64 MiB, 1 vCPU, 1 GiB).
 * Every port is a free one and the dashboard is off, so a run does not collide with anything else on
 * the machine; close() stops the processes and removes the database, the vhost and the state directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase } from '../test/helpers/database.ts';
import { listenSections, passwordToken } from '../test/helpers/deployments.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { ProcessGroup, waitUntil, type ServiceProcess } from '../test/helpers/processes.ts';
import { createVhost } from '../test/helpers/rabbit-vhost.ts';

export type BenchMode = 'all-in-one' | 'multi';

export interface BenchCloudOptions {
  mode: BenchMode;
  /** The most servers a list returns in one page (osapi_max_limit): the run's server count at least. */
  maxLimit: number;
  /** instances, cores and ram quotas; -1 is unlimited. */
  quotaLimit: number;
  /** More configuration lines, in sections of their own (after the cloud's). */
  extraConfig?: string[];
}

export interface BenchCloud {
  identity: string;
  compute: string;
  network: string;
  image: string;
  token: string;
  headers: Record<string, string>;
  imageId: string;
  /** The Stratus processes, by service name (all-in-one is one). */
  processes: ServiceProcess[];
  /** Each process's `/metrics` URL, by the same names. */
  metricsUrls: Record<string, string>;
  close(): Promise<void>;
}

export function parseBenchMode(value: string | undefined, fallback: BenchMode): BenchMode {
  const mode = value ?? fallback;
  if (mode !== 'all-in-one' && mode !== 'multi') throw new Error('--mode is all-in-one or multi');
  return mode;
}

export async function startBenchCloud(opts: BenchCloudOptions): Promise<BenchCloud> {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-'));
  const group = new ProcessGroup();
  const cleanup: (() => Promise<void>)[] = [];
  const close = async () => {
    await group.stopAll();
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [identityPort, computePort, imagePort, networkPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const metricsPorts: Record<string, number> = {};
    for (const service of ['api', 'conductor', 'scheduler', 'compute']) metricsPorts[service] = await freePort();
    const base = [
      '[DEFAULT]',
      `state_path = ${dir}`,
      'host = bench',
      `osapi_compute_listen_port = ${computePort}`,
      'osapi_compute_listen = 127.0.0.1',
      // All-in-one's metadata service: off the default port, which another run may hold.
      'metadata_listen = 127.0.0.1',
      `metadata_listen_port = ${await freePort()}`,
      `osapi_max_limit = ${Math.max(1000, opts.maxLimit)}`,
      'cpu_allocation_ratio = 1000',
      'ram_allocation_ratio = 1000',
      'disk_allocation_ratio = 1000',
      // The control plane is what this measures; all-in-one would pick the qemu driver where it is installed.
      'compute_driver = fake',
      '[quota]',
      `instances = ${opts.quotaLimit}`,
      `cores = ${opts.quotaLimit}`,
      `ram = ${opts.quotaLimit}`,
      // Network quotas are Neutron's (ports 500 by default): the burst with networks makes a port per server.
      '[network]',
      'listen = 127.0.0.1',
      `listen_port = ${networkPort}`,
      // Not measured here, and its default port may be taken on a shared machine.
      '[dashboard]',
      'enabled = false',
      '[metrics]',
      ...Object.entries(metricsPorts).map(([service, port]) => `${service}_listen_port = ${port}`),
      ...(opts.extraConfig ?? []),
      '[DEFAULT]',
    ];
    const tail = listenSections(identityPort, imagePort, await freePort());
    const processes: ServiceProcess[] = [];
    const metricsUrls: Record<string, string> = {};
    if (opts.mode === 'multi') {
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
      for (const service of ['conductor', 'scheduler', 'compute', 'api']) {
        processes.push(group.start(service, 'stratus', [...conf, service], { STRATUS_LOG_LEVEL: 'warn' }));
        metricsUrls[service] = `http://127.0.0.1:${metricsPorts[service]}/metrics`;
      }
    } else {
      writeFileSync(join(dir, 's.conf'), [...base, ...tail].join('\n'));
      processes.push(
        group.start('all-in-one', 'stratus', ['--config-file', join(dir, 's.conf'), 'all-in-one'], {
          OS_BOOTSTRAP_PASSWORD: 'bench',
          STRATUS_LOG_LEVEL: 'warn',
        }),
      );
      metricsUrls['all-in-one'] = `http://127.0.0.1:${metricsPorts['api']}/metrics`;
    }
    const identity = `http://127.0.0.1:${identityPort}/v3`;
    const compute = `http://127.0.0.1:${computePort}/v2.1`;
    const image = `http://127.0.0.1:${imagePort}/v2`;
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
    const created = (await (
      await fetch(`${image}/images`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'bench', disk_format: 'raw', container_format: 'bare' }),
      })
    ).json()) as { id: string };
    await fetch(`${image}/images/${created.id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(1024),
    });
    await fetch(`${compute}/flavors`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ flavor: { name: 'bench', id: 'bench', ram: 64, vcpus: 1, disk: 1 } }),
    });
    return {
      identity,
      compute,
      network: `http://127.0.0.1:${networkPort}/v2.0`,
      image,
      token,
      headers,
      imageId: created.id,
      processes,
      metricsUrls,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
