/**
 * The compute service's own identity towards the other APIs. The RPC context carries who asked (user,
 * project, roles) but never the user's token: tokens expire while a build waits or is rescheduled, and a
 * bearer secret has no business on the message bus. So compute authenticates as a service user of its own
 * (Keystone password auth, the options of Nova's [glance] section) and caches the token until shortly
 * before it expires. The token response's catalog tells where the image API is, unless configured.
 */
import { serviceUrl } from '../../common/config/service-urls.ts';
import type { Config } from '../../common/config/load-config.ts';
export interface ServiceCredentials {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  regionName: string;
}

export interface ServiceToken {
  token: string;
  /** Base URL of the image API from the catalog, or null when the catalog has none. */
  imageEndpoint: string | null;
}

interface TokenResponse {
  token: {
    expires_at: string;
    catalog?: { type: string; endpoints: { interface: string; region?: string; url: string }[] }[];
  };
}

/** Refresh this long before the token expires, so a download never starts with a token about to die. */
const EXPIRY_MARGIN_MS = 60_000;

export class ServiceTokenSource {
  private cached: { value: ServiceToken; expiresAt: number } | null = null;
  private inFlight: Promise<ServiceToken> | null = null;

  constructor(private readonly credentials: ServiceCredentials) {}

  async get(): Promise<ServiceToken> {
    if (this.cached && this.cached.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return this.cached.value;
    this.inFlight ??= this.authenticate().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  /** Forgets the token, after the API refused it (revoked, or the identity service restarted). */
  invalidate(): void {
    this.cached = null;
  }

  private async authenticate(): Promise<ServiceToken> {
    const c = this.credentials;
    if (!c.username || !c.password) {
      throw new Error(
        'compute has no credentials for the image API: set [glance] username and password ' +
          '(a user with the admin role), as Nova does',
      );
    }
    const url = `${c.authUrl.replace(/\/$/, '')}/auth/tokens`;
    const body = {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: c.username, password: c.password, domain: { name: c.userDomainName } } },
        },
        scope: { project: { name: c.projectName, domain: { name: c.projectDomainName } } },
      },
    };
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new Error(`cannot reach the identity API at ${url}: ${(err as Error).message}`);
    }
    if (response.status !== 201) {
      throw new Error(
        `the identity API at ${url} refused compute's service user '${c.username}' (HTTP ${response.status}); ` +
          'check [glance] username, password and project_name',
      );
    }
    const token = response.headers.get('x-subject-token');
    const parsed = (await response.json()) as TokenResponse;
    if (!token) throw new Error(`the identity API at ${url} answered without X-Subject-Token`);
    const image = parsed.token.catalog?.find((s) => s.type === 'image');
    const endpoint =
      image?.endpoints.find((e) => e.interface === 'internal' && (!e.region || e.region === c.regionName)) ??
      image?.endpoints.find((e) => e.interface === 'public');
    const value = { token, imageEndpoint: endpoint?.url ?? null };
    this.cached = { value, expiresAt: Date.parse(parsed.token.expires_at) };
    return value;
  }
}

/** Compute's service user from the [glance] options; the identity URL defaults to this cloud's own. */
export function serviceTokensFromConfig(config: Config): ServiceTokenSource {
  const g = config.glance;
  return new ServiceTokenSource({
    authUrl: g.auth_url ?? serviceUrl(config, 'identity'),
    username: g.username ?? '',
    password: g.password ?? '',
    projectName: g.project_name,
    userDomainName: g.user_domain_name,
    projectDomainName: g.project_domain_name,
    regionName: config.identity.region_name,
  });
}
