/**
 * The base URL of each OpenStack API Stratus serves, derived from configuration alone. The identity
 * bootstrap seeds the service catalog with them; compute hosts and the bootstrap use them to reach the
 * APIs, so they live here rather than in the api package.
 */
import type { Config } from './load-config.ts';

export type ServiceType = 'identity' | 'compute' | 'image' | 'network';

type UrlConfig = Pick<Config, 'api' | 'identity' | 'DEFAULT' | 'image' | 'network'>;

/** `[api] public_host` as a URL authority takes it: an IPv6 address in brackets. */
function publicHost(config: Pick<Config, 'api'>): string {
  return config.api.public_host.includes(':') ? `[${config.api.public_host}]` : config.api.public_host;
}

/** The base URL clients use for a service: what the seeded catalog lists for every interface. */
export function serviceUrl(config: UrlConfig, type: ServiceType): string {
  const host = publicHost(config);
  switch (type) {
    case 'identity':
      return `http://${host}:${config.identity.listen_port}/v3`;
    case 'compute':
      return `http://${host}:${config.DEFAULT.osapi_compute_listen_port}/v2.1`;
    case 'image':
      return `http://${host}:${config.image.listen_port}`;
    // Neutron's catalog entry is unversioned: clients read the versions document and append v2.0.
    case 'network':
      return `http://${host}:${config.network.listen_port}`;
  }
}

/** The noVNC page consoles open: `[vnc] novncproxy_base_url`, or the api service's console proxy. */
export function novncproxyBaseUrl(config: Pick<Config, 'api' | 'vnc'>): string {
  const { novncproxy_base_url: base, novncproxy_port: port } = config.vnc;
  return base ?? `http://${publicHost(config)}:${port}/vnc_lite.html`;
}

/** The dashboard's address as a browser opens it. */
export function dashboardUrl(config: Pick<Config, 'api' | 'dashboard'>): string {
  return `http://${publicHost(config)}:${config.dashboard.port}/`;
}
