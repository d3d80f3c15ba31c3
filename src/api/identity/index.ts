/**
 * The Identity v3 API: the subset of Keystone that the `openstack` CLI, openstacksdk and the other Stratus
 * APIs need: version discovery, tokens, the service catalog, and admin management of domains, projects,
 * users, roles, role assignments, and the catalog's regions, services and endpoints.
 */
import type { ApiServer } from '../http/create-server.ts';
import { CatalogCache } from './catalog-cache.ts';
import type { IdentityDeps } from './deps.ts';
import { registerAuthScopeRoutes } from './routes/auth-scopes.ts';
import { registerTokenRoutes } from './routes/auth-tokens.ts';
import { registerDomainRoutes } from './routes/domains.ts';
import { registerEndpointRoutes } from './routes/endpoints.ts';
import { registerGrantRoutes } from './routes/grants.ts';
import { registerProjectRoutes } from './routes/projects.ts';
import { registerRegionRoutes } from './routes/regions.ts';
import { registerRoleAssignmentRoutes } from './routes/role-assignments.ts';
import { registerRoleRoutes } from './routes/roles.ts';
import { registerServiceRoutes } from './routes/services.ts';
import { registerUserRoutes } from './routes/users.ts';
import { registerVersionRoutes } from './routes/version.ts';

export type { IdentityDeps } from './deps.ts';

/** Adds the identity routes to a server made by createApiServer({ kind: 'identity', tokens }). */
export function registerIdentityApi(app: ApiServer, deps: IdentityDeps): void {
  // One per process: the catalog routes drop it when they change what tokens list.
  const catalog = new CatalogCache(deps.database.db, deps.config.catalog.cache_time * 1000);
  registerVersionRoutes(app);
  registerTokenRoutes(app, deps, catalog);
  registerAuthScopeRoutes(app, deps, catalog);
  registerDomainRoutes(app, deps);
  registerProjectRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerRoleRoutes(app, deps);
  registerGrantRoutes(app, deps);
  registerRoleAssignmentRoutes(app, deps);
  registerRegionRoutes(app, deps);
  registerServiceRoutes(app, deps, catalog);
  registerEndpointRoutes(app, deps, catalog);
}
