/**
 * The service catalog, computed from configuration rather than stored: every process derives the same
 * endpoints, with ids that are stable hashes, so tokens issued by any api process list identical entries.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../../common/config/load-config.ts';
import { serviceUrl, type ServiceType } from '../../common/config/service-urls.ts';

export type EndpointInterface = 'public' | 'internal' | 'admin';

export interface CatalogEndpoint {
  id: string;
  interface: EndpointInterface;
  region: string;
  region_id: string;
  url: string;
}

export interface CatalogService {
  id: string;
  type: ServiceType;
  name: string;
  endpoints: CatalogEndpoint[];
}

type CatalogConfig = Pick<Config, 'api' | 'identity' | 'DEFAULT' | 'image'>;

const INTERFACES: readonly EndpointInterface[] = ['public', 'internal', 'admin'];
const SERVICE_NAMES: Record<ServiceType, string> = { identity: 'keystone', compute: 'nova', image: 'glance' };

export function serviceCatalog(config: CatalogConfig): CatalogService[] {
  const region = config.identity.region_name;
  return (['identity', 'compute', 'image'] as const).map((type) => ({
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

/** 32 hex digits, like Keystone's ids, derived from what identifies the entry. */
function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 32);
}
