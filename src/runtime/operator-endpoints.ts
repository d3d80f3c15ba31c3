/**
 * Starts a service process's operator listener (src/common/metrics/server.ts) on the port configured
 * for what the process runs: `[metrics] <service>_listen_port`, the api's when it runs the api
 * (all-in-one), else its first service's. A port already taken is logged as an error and the services
 * run without it: losing the metrics is better than losing the cloud, and the scrape target shows down.
 */
import type { Config } from '../common/config/load-config.ts';
import { getLogger } from '../common/log/logger.ts';
import type { HealthCheck } from '../common/metrics/health.ts';
import { collectProcessMetrics } from '../common/metrics/metrics.ts';
import { startOperatorServer, type OperatorServer } from '../common/metrics/server.ts';
import type { Transport } from '../common/rpc/transport.ts';

const log = getLogger('metrics');

type ServiceName = 'api' | 'metadata' | 'conductor' | 'scheduler' | 'compute';

export function operatorPort(config: Config, names: readonly ServiceName[]): number {
  const name = names.includes('api') ? 'api' : (names[0] ?? 'api');
  return config.metrics[`${name}_listen_port`];
}

export async function startOperatorEndpoints(
  config: Config,
  names: readonly ServiceName[],
  checks: readonly HealthCheck[],
): Promise<OperatorServer | null> {
  if (!config.metrics.enabled) return null;
  collectProcessMetrics();
  const port = operatorPort(config, names);
  try {
    return await startOperatorServer({
      host: config.metrics.listen,
      port,
      checks,
      detailed: config.healthcheck.detailed,
      healthcheckPath: config.healthcheck.path,
    });
  } catch (err) {
    log.error(
      { host: config.metrics.listen, port, err: (err as Error).message },
      'cannot serve /metrics and the health check there: set another [metrics] port for this service',
    );
    return null;
  }
}

/** The bus: connected, or reconnecting (then the reason is the transport's). */
export function busHealthCheck(transport: Transport): HealthCheck {
  return {
    name: 'message bus',
    details: `connection to ${transport.description}`,
    check: async () => (transport.connected ? null : `message bus: not connected to ${transport.description}`),
  };
}
