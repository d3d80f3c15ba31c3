/**
 * The metadata service (Nova's nova-api-metadata): what guests read at http://169.254.169.254/, which
 * each compute host's datapath forwards here. Its own process (`stratus metadata`) or part of
 * all-in-one; stateless apart from a short cache, so run as many as the guests need behind a balancer.
 */
import { createServer, type Server } from 'node:http';
import type { Config } from '../../common/config/load-config.ts';
import type { Database } from '../../common/db/database.ts';
import { getLogger } from '../../common/log/logger.ts';
import { databaseHealthCheck } from '../../runtime/database-health.ts';
import type { RunningService } from '../../runtime/service.ts';
import { createMetadataHandler } from './handler.ts';
import { metadataSettings } from './instance-metadata.ts';
import { loadStaticVendorData } from './vendor-data.ts';

const log = getLogger('metadata');

/** The service's HTTP server, not listening yet (tests listen on a port of their own). */
export function createMetadataServer(config: Config, database: Database): Server {
  const { service_metadata_proxy: proxy, metadata_proxy_shared_secret: secret } = config.neutron;
  if (proxy && !secret) {
    log.warn('[neutron] metadata_proxy_shared_secret is not set: anyone who reaches the service can sign requests');
  }
  const handler = createMetadataHandler({
    db: database.db,
    settings: metadataSettings(config, loadStaticVendorData(config)),
    cacheSeconds: config.api.metadata_cache_expiration,
    serviceMetadataProxy: proxy,
    sharedSecret: secret,
    // The metadata service needs the database alone.
    health: {
      checks: [databaseHealthCheck(database)],
      path: config.healthcheck.path,
      detailed: config.healthcheck.detailed,
      public: true,
    },
  });
  return createServer(handler);
}

export async function startMetadata(config: Config, database: Database): Promise<RunningService> {
  const server = createMetadataServer(config, database);
  const { metadata_listen: host, metadata_listen_port: port } = config.DEFAULT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: Error) =>
      reject(
        new Error(
          `the metadata service cannot listen on ${host}:${port} (${err.message}); choose another [DEFAULT] metadata_listen_port`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  log.info({ url: `http://${host}:${port}` }, 'metadata service listening');
  return {
    name: 'metadata',
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
