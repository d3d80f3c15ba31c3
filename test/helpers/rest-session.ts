/**
 * Plain REST calls against a running Stratus, for tests and benchmarks that need more requests at once
 * than the `openstack` CLI can make: a project-scoped password token, then JSON requests with it.
 */

/** A project-scoped token by password (Keystone v3), for clients that talk REST rather than the CLI. */
export async function passwordToken(
  identityUrl: string,
  user: string,
  password: string,
  project: string,
): Promise<string> {
  const response = await fetch(`${identityUrl}/auth/tokens?nocatalog`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    }),
  });
  const token = response.headers.get('x-subject-token');
  if (!token) throw new Error(`no token for ${user} from ${identityUrl}: HTTP ${response.status}`);
  return token;
}

export interface RestSession {
  readonly token: string;
  /** Sends `body` as JSON; answers the status and the parsed body (null when empty). */
  request<T = unknown>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function openRestSession(
  identityUrl: string,
  credentials: { user: string; password: string; project: string },
): Promise<RestSession> {
  const login = () => passwordToken(identityUrl, credentials.user, credentials.password, credentials.project);
  let token = await login();
  const send = (method: string, url: string, body: unknown) =>
    fetch(url, {
      method,
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    get token() {
      return token;
    },
    async request<T>(method: string, url: string, body?: unknown) {
      let response = await send(method, url, body);
      // A cloud restarted by the test may no longer know the token: log in again, as the CLI would.
      if (response.status === 401) {
        token = await login();
        response = await send(method, url, body);
      }
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
    },
  };
}

/** A session from the credentials of an openrc file (as `readOpenrc` returns them). */
export function openRestSessionFromOpenrc(env: Record<string, string>): Promise<RestSession> {
  return openRestSession(env['OS_AUTH_URL']!.replace(/\/$/, ''), {
    user: env['OS_USERNAME']!,
    password: env['OS_PASSWORD']!,
    project: env['OS_PROJECT_NAME']!,
  });
}

/**
 * The REST side of a CLI user's credentials: a session, and the compute API's URL as the catalog gives it.
 * Test harnesses poll through it for what they wait on (a service up, a status reached): a poll through
 * the CLI costs a Python start and a login, about a second of CPU each time.
 */
export interface CliRestSession {
  session: RestSession;
  computeUrl: string;
}

export async function openCliRestSession(env: Record<string, string>): Promise<CliRestSession> {
  const identityUrl = env['OS_AUTH_URL']!.replace(/\/$/, '');
  const session = await openRestSessionFromOpenrc(env);
  const { status, body } = await session.request<{ catalog?: CatalogEntry[] }>('GET', `${identityUrl}/auth/catalog`);
  const endpoint = body?.catalog
    ?.find((entry) => entry.type === 'compute')
    ?.endpoints.find((e) => e.interface === (env['OS_INTERFACE'] ?? 'public'));
  if (!endpoint) throw new Error(`no public compute endpoint in the catalog of ${identityUrl} (HTTP ${status})`);
  return { session, computeUrl: endpoint.url.replace(/\/$/, '') };
}

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; url: string }[];
}
