/**
 * Plain REST calls against a running Stratus, for tests and benchmarks that need more requests at once
 * than the `openstack` CLI can make: a project-scoped password token, then JSON requests with it.
 */
import { passwordToken } from './deployments.ts';

export interface RestSession {
  readonly token: string;
  /** Sends `body` as JSON; answers the status and the parsed body (null when empty). */
  request<T = unknown>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function openRestSession(
  identityUrl: string,
  credentials: { user: string; password: string; project: string },
): Promise<RestSession> {
  const token = await passwordToken(identityUrl, credentials.user, credentials.password, credentials.project);
  return {
    token,
    async request<T>(method: string, url: string, body?: unknown) {
      const response = await fetch(url, {
        method,
        headers: { 'x-auth-token': token, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
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
