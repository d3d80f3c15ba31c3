/** What the caller's own token gives access to: /v3/auth/catalog, /v3/auth/projects, /v3/auth/domains. */
import { Forbidden } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { CatalogCache } from '../catalog-cache.ts';
import type { IdentityDeps } from '../deps.ts';
import { collectionLinks, v3Base } from '../links.ts';
import { targetsOfUser } from '../store/assignments.ts';
import { listDomains } from '../store/domains.ts';
import { listProjects } from '../store/projects.ts';
import { authorize } from '../authorize.ts';
import { callerToken } from '../subject-token.ts';
import { domainView, projectView } from '../views.ts';

export function registerAuthScopeRoutes(app: ApiServer, deps: IdentityDeps, catalog: CatalogCache): void {
  const { database, tokens } = deps;
  const db = database.db;

  app.get('/v3/auth/catalog', async (request) => {
    authorize(request, 'get_auth_catalog');
    const token = await callerToken(request, tokens);
    if (token.projectId === null && token.domainId === null) {
      throw new Forbidden('The service catalog needs a scoped token; authenticate with a project.');
    }
    return { catalog: await catalog.forToken(token), links: collectionLinks(request) };
  });

  app.get('/v3/auth/projects', async (request) => {
    authorize(request, 'get_auth_projects');
    const ids = await targetsOfUser(db, request.ctx.userId!, 'project');
    const enabledDomains = new Set((await listDomains(db, { enabled: true })).map((d) => d.id));
    const projects = (await listProjects(db, { ids, enabled: true })).filter((p) => enabledDomains.has(p.domain_id));
    const base = v3Base(request);
    return { projects: projects.map((p) => projectView(base, p)), links: collectionLinks(request) };
  });

  app.get('/v3/auth/domains', async (request) => {
    authorize(request, 'get_auth_domains');
    const ids = new Set(await targetsOfUser(db, request.ctx.userId!, 'domain'));
    const domains = (await listDomains(db, { enabled: true })).filter((d) => ids.has(d.id));
    const base = v3Base(request);
    return { domains: domains.map((d) => domainView(base, d)), links: collectionLinks(request) };
  });
}
