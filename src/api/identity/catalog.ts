/**
 * The service catalog of tokens, in Keystone's shape, built from the catalog tables (regions, services,
 * endpoints), and the catalog configuration describes, which bootstrap seeds those tables with.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../../common/config/load-config.ts';
import { serviceUrl, type ServiceType } from '../../common/config/service-urls.ts';
import { formatEndpointUrl, isTemplated } from './endpoint-url.ts';
import type { CatalogServiceRow, EndpointRow } from './store/catalog.ts';

export type EndpointInterface = 'public' | 'internal' | 'admin';
export const INTERFACES: readonly EndpointInterface[] = ['public', 'internal', 'admin'];

export interface CatalogEndpoint {
  id: string;
  interface: string;
  region: string | null;
  region_id: string | null;
  url: string;
}

export interface CatalogService {
  id: string;
  type: string;
  name: string;
  endpoints: CatalogEndpoint[];
}

type CatalogConfig = Pick<Config, 'api' | 'identity' | 'DEFAULT' | 'image' | 'network'>;

const SERVICE_NAMES: Record<ServiceType, string> = {
  identity: 'keystone',
  compute: 'nova',
  image: 'glance',
  network: 'neutron',
};

/**
 * What configuration says the catalog is: keystone, nova, glance and neutron, each with a public, internal and
 * admin endpoint at its URL in `[identity] region_name`. The ids are hashes of what identifies each entry,
 * the ids tokens carried when the catalog was computed rather than stored, so seeding keeps them.
 */
export function configuredCatalog(config: CatalogConfig): CatalogService[] {
  const region = config.identity.region_name;
  return (['identity', 'compute', 'image', 'network'] as const).map((type) => ({
    id: stableId('service', type),
    type,
    name: SERVICE_NAMES[type],
    endpoints: INTERFACES.map((iface) => ({
      id: stableId('endpoint', type, iface, region),
      interface: iface,
      region,
      region_id: region,
      url: serviceUrl(config, type),
    })),
  }));
}

/**
 * The catalog of tokens from the stored rows: enabled services, each with its enabled endpoints, as
 * Keystone's get_v3_catalog builds it (a service without enabled endpoints is listed with none).
 */
export function catalogFromRows(services: readonly CatalogServiceRow[], endpoints: readonly EndpointRow[]) {
  const byService = new Map<string, CatalogEndpoint[]>();
  for (const e of endpoints) {
    if (!e.enabled) continue;
    const list = byService.get(e.service_id) ?? [];
    list.push({ id: e.id, interface: e.interface, region: e.region_id, region_id: e.region_id, url: e.url });
    byService.set(e.service_id, list);
  }
  return services
    .filter((s) => s.enabled)
    .map((s): CatalogService => ({ id: s.id, type: s.type, name: s.name, endpoints: byService.get(s.id) ?? [] }));
}

/**
 * The catalog as one token sees it: URLs with substitutions (`$(project_id)s`) filled in from the token,
 * and left out when the token lacks the value (a domain-scoped token has no project), as Keystone does.
 * A catalog without such URLs is returned as it is, shared by every token.
 */
export function catalogForToken(
  catalog: readonly CatalogService[],
  token: { projectId: string | null; userId: string },
): readonly CatalogService[] {
  if (!catalog.some((s) => s.endpoints.some((e) => isTemplated(e.url)))) return catalog;
  const values = { project_id: token.projectId, tenant_id: token.projectId, user_id: token.userId };
  return catalog.map((service) => ({
    ...service,
    endpoints: service.endpoints.flatMap((e) => {
      if (!isTemplated(e.url)) return [e];
      const url = formatEndpointUrl(e.url, values);
      return url === null ? [] : [{ ...e, url }];
    }),
  }));
}

/** 32 hex digits, like Keystone's ids, derived from what identifies the entry. */
function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 32);
}
