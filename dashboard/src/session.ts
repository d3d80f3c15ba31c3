/**
 * Logging in with Keystone v3: a password gives an unscoped token, kept only to list the user's projects
 * and to get a token scoped to the one chosen (the `token` method), which every other call uses. Both
 * live in sessionStorage (gone with the tab, never in a cookie the browser would send by itself); the
 * session ends when the scoped token expires.
 */
import { callFull } from './api.ts';

export interface Project {
  id: string;
  name: string;
}

export interface Session {
  token: string;
  /** The unscoped token: project switching. */
  unscopedToken: string;
  expiresAt: string;
  user: { id: string; name: string; domain: string };
  project: Project;
  roles: string[];
  projects: Project[];
}

const KEY = 'stratus.session';

interface TokenBody {
  token: {
    expires_at: string;
    user: { id: string; name: string; domain: { name: string } };
    project?: Project;
    roles?: { name: string }[];
  };
}

export function loadSession(): Session | null {
  const text = sessionStorage.getItem(KEY);
  if (!text) return null;
  const session = JSON.parse(text) as Session;
  return Date.parse(session.expiresAt) > Date.now() ? session : (clearSession(), null);
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

export function isAdmin(session: Session): boolean {
  return session.roles.includes('admin');
}

async function issue(auth: unknown, token: string | null): Promise<{ token: string; body: TokenBody }> {
  const response = await callFull<TokenBody>('identity', '/v3/auth/tokens?nocatalog', {
    body: { auth },
    token,
  });
  return { token: response.headers.get('x-subject-token') ?? '', body: response.body };
}

/** A token of `unscoped`'s user scoped to `project`: the session the dashboard then runs with. */
export async function scopeTo(unscopedToken: string, project: Project, projects: Project[]): Promise<Session> {
  const { token, body } = await issue(
    { identity: { methods: ['token'], token: { id: unscopedToken } }, scope: { project: { id: project.id } } },
    unscopedToken,
  );
  const t = body.token;
  return {
    token,
    unscopedToken,
    expiresAt: t.expires_at,
    user: { id: t.user.id, name: t.user.name, domain: t.user.domain.name },
    project: t.project ?? project,
    roles: (t.roles ?? []).map((r) => r.name),
    projects,
  };
}

export async function logIn(domain: string, user: string, password: string): Promise<Session> {
  const { token } = await issue(
    { identity: { methods: ['password'], password: { user: { name: user, domain: { name: domain }, password } } } },
    null,
  );
  const { body } = await callFull<{ projects: Project[] }>('identity', '/v3/auth/projects', { token });
  const projects = body.projects.map((p) => ({ id: p.id, name: p.name })).sort((a, b) => a.name.localeCompare(b.name));
  const first = projects[0];
  if (!first) throw new Error(`${user} has no role on any project: ask an administrator for one.`);
  const last = localStorage.getItem(`stratus.project.${user}`);
  return scopeTo(token, projects.find((p) => p.id === last) ?? first, projects);
}

export function rememberProject(session: Session): void {
  localStorage.setItem(`stratus.project.${session.user.name}`, session.project.id);
}
