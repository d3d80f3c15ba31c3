/**
 * The operator's listener of a service process, apart from the APIs: `/metrics` (Prometheus text format)
 * and `/healthcheck` (health.ts). Apart, because the API ports answer OpenStack clients exactly as
 * OpenStack does (Nova and Keystone have no /metrics), and because conductor, scheduler and compute have
 * no HTTP port at all; one listener per process, bound where `[metrics] listen` says (loopback by
 * default: metrics are not for tenants).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getLogger } from '../log/logger.ts';
import { serveHealthcheck, type HealthCheck } from './health.ts';
import { registry } from './metrics.ts';

const log = getLogger('metrics');
const PLAIN = 'text/plain; charset=UTF-8';

export interface OperatorServerOptions {
  host: string;
  /** 0 picks a free port (tests); the chosen one is logged and returned. */
  port: number;
  checks: readonly HealthCheck[];
  /** oslo's `[healthcheck] detailed`. */
  detailed: boolean;
  /** oslo's `[healthcheck] path`. */
  healthcheckPath: string;
}

export interface OperatorServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startOperatorServer(opts: OperatorServerOptions): Promise<OperatorServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, contentType: string, body: string): void => {
      res.writeHead(status, { 'content-type': contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, PLAIN, 'Method Not Allowed');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, registry.contentType, text),
        (err: unknown) => reply(500, PLAIN, `cannot collect metrics: ${(err as Error).message}`),
      );
    } else if (path === opts.healthcheckPath) {
      serveHealthcheck({ checks: opts.checks, path: opts.healthcheckPath, detailed: opts.detailed }, req, res);
    } else {
      reply(404, PLAIN, 'Not Found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info(
    { host: opts.host, port },
    `metrics at http://${opts.host}:${port}/metrics, health at ${opts.healthcheckPath}`,
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
