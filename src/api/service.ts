/**
 * The api service: the four OpenStack APIs (identity :5000, compute :8774, image :9292, network :9696),
 * each on its own port as in OpenStack, sharing one database connection, one token service and one bus client, and
 * the console proxy (noVNC and its websockets, :6080) when `[vnc] enabled`.
 * Stateless: run as many as needed behind a load balancer (console tokens live in the database).
 */
import { configDirs, type Config } from '../common/config/load-config.ts';
import { ConfigError } from '../common/errors.ts';
import { Policy, PolicyFileError, resolvePolicyFile } from './policy/index.ts';
import type { RequestContext } from '../common/context.ts';
import type { Database } from '../common/db/database.ts';
import { getLogger } from '../common/log/logger.ts';
import { databaseVersionCaps } from '../runtime/version-caps.ts';
import { ComputeRpcApi } from '../wire/contracts/compute.ts';
import { ConductorRpcApi } from '../wire/contracts/conductor.ts';
import type { Bus } from '../runtime/bus.ts';
import type { RunningService } from '../runtime/service.ts';
import { openSharedCache } from '../common/cache/shared-cache.ts';
import { SharedTokenCache } from './auth/shared-token-cache.ts';
import { LocalCounter, parseRateLimits, RateLimiter, RedisCounter } from './http/rate-limit.ts';
import { TokenService } from './auth/token-service.ts';
import { createConsoleProxy } from './console/console-proxy.ts';
import { registerComputeApi } from './compute/index.ts';
import { apiNotificationsFromConfig, type ApiNotifications } from './compute/notifications/api-notifications.ts';
import type { ImageLookup, ImageRecord, ImageSummary } from './compute/image-lookup.ts';
import { dashboardUrl, novncproxyBaseUrl } from '../common/config/service-urls.ts';
import { packageRoot } from '../common/package-root.ts';
import { createDashboardServer, dashboardFiles } from './dashboard/dashboard-server.ts';
import { createApiServer, type ApiServer } from './http/create-server.ts';
import { registerHealthcheck } from './http/healthcheck-route.ts';
import { busHealthCheck } from '../runtime/operator-endpoints.ts';
import { databaseHealthCheck } from '../runtime/database-health.ts';
import { seedCatalog } from './identity/catalog-seed.ts';
import { registerIdentityApi } from './identity/index.ts';
import { registerNetworkApi } from './network/index.ts';
import { createImageStore, registerImageApi, type ImageRepository } from './image/index.ts';
import { checkQuotas } from './image/validation.ts';
import { PATCH_MEDIA_TYPES, type PatchChange } from './image/json-patch.ts';
import type { Image } from './image/model.ts';

const log = getLogger('api');

export interface ApiApps {
  identity: ApiServer;
  compute: ApiServer;
  image: ApiServer;
  network: ApiServer;
  tokens: TokenService;
  rateLimiter: RateLimiter;
  notifications: ApiNotifications;
}

/** Builds the four apps without listening (tests use `inject`). */
export async function buildApiApps(config: Config, database: Database, bus: Bus): Promise<ApiApps> {
  const redis = openSharedCache(config);
  const tokens = new TokenService(database, config, { shared: redis && new SharedTokenCache(redis) });
  const rateLimiter = buildRateLimiter(config);
  const policy = loadPolicy(config);
  const identity = createApiServer({ kind: 'identity', tokens, rateLimiter, policy });
  registerIdentityApi(identity, { database, config, tokens });
  const image = createApiServer({ kind: 'image', tokens, rateLimiter, policy });
  const images = registerImageApi(image, { database, config, store: createImageStore(config) });
  const compute = createApiServer({ kind: 'compute', tokens, rateLimiter, policy });
  const caps = databaseVersionCaps(config, database);
  const notifications = apiNotificationsFromConfig(config, bus.transport);
  registerComputeApi(compute, {
    database,
    config,
    conductor: new ConductorRpcApi(bus.rpc, caps.conductor),
    compute: new ComputeRpcApi(bus.rpc, caps.compute),
    images: imageLookup(images),
    notifications,
  });
  const network = createApiServer({ kind: 'network', tokens, rateLimiter, policy });
  registerNetworkApi(network, { database, config, compute: new ComputeRpcApi(bus.rpc, caps.compute) });
  // What the service needs, checked as the operator listener checks it: the bus and the database.
  const health = {
    checks: [busHealthCheck(bus.transport), databaseHealthCheck(database)],
    path: config.healthcheck.path,
    detailed: config.healthcheck.detailed,
  };
  for (const app of [identity, image, compute, network]) registerHealthcheck(app, health);
  await Promise.all([identity.ready(), image.ready(), compute.ready(), network.ready()]);
  return { identity, compute, image, network, tokens, rateLimiter, notifications };
}

/** `[oslo_policy] policy_file` over the registered defaults; a policy that does not parse stops the start. */
export function loadPolicy(config: Config): Policy {
  const file = resolvePolicyFile(config.oslo_policy.policy_file, configDirs(config));
  try {
    return new Policy(file);
  } catch (err) {
    if (err instanceof PolicyFileError) throw new ConfigError(`[oslo_policy] policy_file: ${err.message}`);
    throw err;
  }
}

/** `[DEFAULT] api_rate_limit`, counted in the shared cache when there is one (its own connection). */
function buildRateLimiter(config: Config): RateLimiter {
  let limits;
  try {
    limits = parseRateLimits(config.DEFAULT.api_rate_limit);
  } catch (err) {
    throw new Error(`[DEFAULT] api_rate_limit: ${(err as Error).message}`, { cause: err });
  }
  const redis = limits.length ? openSharedCache(config) : null;
  return new RateLimiter(limits, redis ? new RedisCounter(redis) : new LocalCounter());
}

function imageLookup(images: ImageRepository): ImageLookup {
  return {
    async getImage(ctx: RequestContext, id: string) {
      const image = await images.findVisible(ctx, id);
      return image ? imageSummary(image) : null;
    },
    async createSnapshotImage(ctx, request) {
      checkQuotas(Object.keys(request.properties).length, 0);
      const image = await images.create(ctx, {
        attributes: {
          name: request.name,
          owner: request.owner,
          visibility: 'private',
          diskFormat: request.diskFormat,
          containerFormat: request.containerFormat,
          minRam: request.minRam,
          minDisk: request.minDisk,
        },
        tags: [],
        properties: request.properties,
      });
      return image.id;
    },
    deleteImage: (ctx, id) => images.delete(ctx, id),
    async describeImage(ctx, id) {
      const image = await images.findVisible(ctx, id);
      return image ? imageRecord(image) : null;
    },
    async listImages(ctx, request) {
      const page = await images.list(ctx, {
        limit: request.limit,
        ...(request.marker !== undefined ? { marker: request.marker } : {}),
        sort: [
          { key: 'created_at', dir: 'desc' },
          { key: 'id', dir: 'desc' },
        ],
        memberStatus: 'accepted',
        filters: {
          ...(request.name !== undefined ? { name: { op: 'eq', value: request.name } } : {}),
          ...(request.status !== undefined ? { status: { op: 'eq', value: request.status } } : {}),
          ...(request.changesSince !== undefined ? { updatedAt: { op: 'gte', value: request.changesSince } } : {}),
          osHidden: false,
          tags: [],
          properties: request.properties,
        },
      });
      return page.images.map(imageRecord);
    },
    async replaceImageProperties(ctx, id, properties) {
      const image = await images.get(ctx, id);
      const changes: PatchChange[] = [
        ...Object.keys(image.properties)
          .filter((key) => !Object.hasOwn(properties, key))
          .map((name) => ({ op: 'remove' as const, name })),
        ...Object.entries(properties).map(([name, value]) => ({ op: 'add' as const, name, value })),
      ];
      return {
        ...(await images.update(ctx, id, changes, PATCH_MEDIA_TYPES['application/openstack-images-v2.1-json-patch']))
          .properties,
      };
    },
  };
}

/** What the compute API checks of an image before booting or rebuilding from it. */
function imageSummary(image: Image): ImageSummary {
  return {
    id: image.id,
    status: image.status,
    min_ram: image.minRam,
    min_disk: image.minDisk,
    disk_format: image.diskFormat,
    container_format: image.containerFormat,
    properties: { ...image.properties },
  };
}

/** An image as the compute API's images proxy shows it: the summary, its name, size and times. */
function imageRecord(image: Image): ImageRecord {
  return {
    ...imageSummary(image),
    name: image.name,
    size: image.size,
    created_at: image.createdAt,
    updated_at: image.updatedAt,
  };
}

export async function startApi(config: Config, database: Database, bus: Bus): Promise<RunningService> {
  // A database upgraded to the stored catalog (migration 0016) without a bootstrap since has none yet.
  if (await seedCatalog(database.db, config)) log.info('seeded the empty service catalog from the configuration');
  const apps = await buildApiApps(config, database, bus);
  const listeners: [ApiServer, string, number][] = [
    [apps.identity, config.identity.listen, config.identity.listen_port],
    [apps.compute, config.DEFAULT.osapi_compute_listen, config.DEFAULT.osapi_compute_listen_port],
    [apps.image, config.image.listen, config.image.listen_port],
    [apps.network, config.network.listen, config.network.listen_port],
  ];
  const proxy = config.vnc.enabled
    ? createConsoleProxy({
        db: database.db,
        web: config.DEFAULT.web,
        indexPage: new URL(novncproxyBaseUrl(config)).pathname,
        allowedOrigins: config.console.allowed_origins,
      })
    : null;
  const dashboard = config.dashboard.enabled
    ? createDashboardServer({
        apis: apps,
        files: await dashboardFiles(packageRoot()),
        consoleOrigin: config.vnc.enabled ? new URL(novncproxyBaseUrl(config)).origin : null,
      })
    : null;
  const closeAll = () =>
    Promise.all([
      ...listeners.map(([app]) => app.close()),
      proxy?.close(),
      dashboard && closeServer(dashboard),
      apps.tokens.stop(),
      apps.rateLimiter.close(),
    ]).then(() => apps.notifications.flush());
  try {
    // Before listening: a request must never be answered from a cache that misses other processes' revocations.
    await apps.tokens.start();
    for (const [app, host, port] of listeners) {
      await app.listen({ host, port });
      log.info({ url: `http://${host}:${port}` }, 'listening');
    }
    if (proxy) {
      const { novncproxy_host: host, novncproxy_port: port } = config.vnc;
      await listen(proxy.server, host, port).catch((err: Error) => {
        throw new Error(
          `the console proxy cannot listen on ${host}:${port} (${err.message}); ` +
            'choose another [vnc] novncproxy_port, or set [vnc] enabled = false',
        );
      });
      log.info({ url: `http://${host}:${port}`, web: config.DEFAULT.web }, 'console proxy listening');
    }
    if (dashboard) {
      const { listen: host, port } = config.dashboard;
      await listen(dashboard, host, port).catch((err: Error) => {
        throw new Error(
          `the dashboard cannot listen on ${host}:${port} (${err.message}); ` +
            'choose another [dashboard] port, or set [dashboard] enabled = false',
        );
      });
      log.info({ url: dashboardUrl(config) }, 'dashboard listening');
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { name: 'api', stop: async () => void (await closeAll()) };
}

/** Stops listening and ends its connections (a browser keeps idle ones open). */
function closeServer(server: import('node:http').Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function listen(server: import('node:http').Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
