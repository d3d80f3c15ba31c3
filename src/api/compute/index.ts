/**
 * The Compute API v2.1 (Nova's contract, microversions 2.1 to MAX_VERSION): version discovery, servers
 * and their actions, flavors, server groups, availability zones, and the admin views of services,
 * hypervisors and host aggregates. `registerComputeApi` mounts it on a server made by
 * createApiServer({ kind: 'compute', ... }).
 *
 * Every route exists twice, as /v2.1/servers and /v2.1/{project_id}/servers: which one a client uses
 * depends on the catalog URL it was given, and Nova serves both.
 */
import { BadRequest } from '../../common/errors.ts';
import type { ApiServer } from '../http/create-server.ts';
import { registerConsoleAuthTokenRoutes } from './admin/console-auth-tokens.ts';
import { registerExternalEventRoutes } from './admin/external-events.ts';
import { registerHypervisorRoutes } from './admin/hypervisors.ts';
import { registerMigrationRoutes } from './admin/migrations.ts';
import { registerLiveMigrationRoutes } from './servers/live-migration.ts';
import { registerUsageAuditLogRoutes } from './admin/usage-audit-log.ts';
import { registerUsageRoutes } from './admin/usage.ts';
import { registerServiceRoutes } from './admin/services.ts';
import { registerAggregateImageCacheRoute } from './aggregates/image-cache.ts';
import { registerAggregateRoutes } from './aggregates/routes.ts';
import { registerAvailabilityZoneRoutes } from './availability-zones/routes.ts';
import type { ComputeApiDeps } from './deps.ts';
import { extensionsHook, type StratusExtension } from './extensions.ts';
import { registerFlavorAccessRoutes } from './flavors/access.ts';
import { registerExtraSpecRoutes } from './flavors/extra-specs.ts';
import { registerFlavorRoutes } from './flavors/routes.ts';
import { registerKeyPairRoutes } from './keypairs/routes.ts';
import { registerGoneRoutes } from './legacy/gone.ts';
import { registerHostRoutes } from './legacy/hosts.ts';
import { registerImageProxyRoutes } from './legacy/images.ts';
import { registerNetworkProxyRoutes } from './legacy/network-proxies.ts';
import { registerProxyRoutes } from './legacy/proxies.ts';
import { microversionHook, type ApiVersion } from './microversion.ts';
import { registerLimitsRoutes } from './quotas/limits.ts';
import { registerQuotaClassRoutes } from './quotas/quota-classes.ts';
import { registerQuotaSetRoutes } from './quotas/quota-sets.ts';
import { registerServerGroupRoutes } from './server-groups/routes.ts';
import { registerServerActionRoutes } from './servers/actions.ts';
import { registerServerCreateRoute } from './servers/create.ts';
import { registerServerDeleteRoute } from './servers/delete.ts';
import { registerServerDiagnosticsRoutes } from './servers/diagnostics.ts';
import { registerServerTopologyRoute } from './servers/topology.ts';
import { registerDiskSnapshotRoutes } from './servers/disk-snapshots.ts';
import { registerInstanceActionRoutes } from './servers/instance-actions.ts';
import { registerServerIpsRoutes } from './servers/ips.ts';
import { registerServerSecurityGroupRoutes } from './servers/security-groups.ts';
import { registerInterfaceRoutes } from './interfaces/routes.ts';
import { registerServerListRoutes } from './servers/list.ts';
import { registerRemoteConsoleRoutes } from './servers/remote-consoles.ts';
import { registerServerMetadataRoutes } from './servers/metadata.ts';
import { registerServerShowRoutes } from './servers/show.ts';
import { registerServerPasswordRoutes } from './servers/server-password.ts';
import { registerServerTagRoutes } from './servers/tags.ts';
import { registerRootVersionRoute, registerVersionDocumentRoute } from './versions.ts';

export type { ComputeApiDeps } from './deps.ts';
export type { ImageLookup, ImageSummary } from './image-lookup.ts';
export { MAX_VERSION, MIN_VERSION, atLeast } from './microversion.ts';

export function registerComputeApi(app: ApiServer, deps: ComputeApiDeps): void {
  void app.register(async (scope) => {
    // Set by microversionHook on every versioned route before its handler runs.
    scope.decorateRequest('microversion', null as unknown as ApiVersion);
    scope.decorateRequest('stratusExtensions', null as unknown as ReadonlySet<StratusExtension>);
    registerRootVersionRoute(scope);
    await scope.register(
      async (v21) => {
        v21.addHook('preHandler', microversionHook);
        v21.addHook('preHandler', extensionsHook);
        registerVersionDocumentRoute(v21);
        registerResourceRoutes(v21, deps);
      },
      { prefix: '/v2.1' },
    );
    await scope.register(
      async (v21) => {
        v21.addHook('preHandler', microversionHook);
        v21.addHook('preHandler', extensionsHook);
        v21.addHook('preHandler', checkPathProject);
        registerResourceRoutes(v21, deps);
      },
      { prefix: '/v2.1/:project_id' },
    );
  });
}

function registerResourceRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  registerServerListRoutes(app, deps);
  registerServerCreateRoute(app, deps);
  registerServerShowRoutes(app, deps);
  registerServerDeleteRoute(app, deps);
  registerServerActionRoutes(app, deps);
  registerInstanceActionRoutes(app, deps);
  registerServerMetadataRoutes(app, deps);
  registerRemoteConsoleRoutes(app, deps);
  registerDiskSnapshotRoutes(app, deps);
  registerFlavorRoutes(app, deps);
  registerExtraSpecRoutes(app, deps);
  registerFlavorAccessRoutes(app, deps);
  registerServiceRoutes(app, deps);
  registerHypervisorRoutes(app, deps);
  registerAggregateRoutes(app, deps);
  registerAggregateImageCacheRoute(app, deps);
  registerAvailabilityZoneRoutes(app, deps);
  registerServerGroupRoutes(app, deps);
  registerKeyPairRoutes(app, deps);
  registerServerTagRoutes(app, deps);
  registerServerPasswordRoutes(app, deps);
  registerServerDiagnosticsRoutes(app, deps);
  registerServerTopologyRoute(app, deps);
  registerServerIpsRoutes(app, deps);
  registerInterfaceRoutes(app, deps);
  registerServerSecurityGroupRoutes(app, deps);
  registerUsageRoutes(app, deps);
  registerUsageAuditLogRoutes(app, deps);
  registerExternalEventRoutes(app, deps);
  registerMigrationRoutes(app, deps);
  registerLiveMigrationRoutes(app, deps);
  registerConsoleAuthTokenRoutes(app, deps);
  registerHostRoutes(app, deps);
  registerProxyRoutes(app);
  registerNetworkProxyRoutes(app, deps);
  registerImageProxyRoutes(app, deps);
  registerGoneRoutes(app);
  registerQuotaSetRoutes(app, deps);
  registerQuotaClassRoutes(app, deps);
  registerLimitsRoutes(app, deps);
}

/** A project id in the path must be the token's own, as Nova checks. */
async function checkPathProject(request: import('fastify').FastifyRequest): Promise<void> {
  const inPath = (request.params as { project_id?: string }).project_id;
  if (inPath && inPath !== request.ctx.projectId) {
    throw new BadRequest(
      `Malformed request URL: URL's project_id '${inPath}' doesn't match Context's project_id '${request.ctx.projectId ?? ''}'`,
    );
  }
}
