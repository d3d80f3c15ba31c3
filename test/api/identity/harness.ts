/**
 * An identity API for tests: a migrated database, a bootstrapped admin, the token service on a clock the
 * test can move, and the fastify app driven with inject (no ports).
 */
import type { InjectOptions } from 'fastify';
import { loadConfig, type Config, type RawOverrides } from '../../../src/common/config/load-config.ts';
import type { Dialect } from '../../../src/common/db/connection-url.ts';
import { TokenService } from '../../../src/api/auth/token-service.ts';
import { createApiServer, type ApiServer } from '../../../src/api/http/create-server.ts';
import { bootstrapIdentity } from '../../../src/api/identity/bootstrap.ts';
import { registerIdentityApi } from '../../../src/api/identity/index.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { FAST_PASSWORD_HASH_ROUNDS } from '../../helpers/fast-hashing.ts';
import type { Body } from './bodies.ts';

export const ADMIN_PASSWORD = 'admin-secret';

export interface Harness {
  app: ApiServer;
  database: TestDatabase;
  config: Config;
  tokens: TokenService;
  clock: { now: number; advance(seconds: number): void };
  admin: { userId: string; projectId: string; token: string };
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  body: Body;
  headers: Record<string, string | string[] | number | undefined>;
  raw: string;
}

export async function startIdentity(options: { dialect?: Dialect; overrides?: RawOverrides } = {}): Promise<Harness> {
  const database = await openTestDatabase(options.dialect ?? 'sqlite');
  const overrides = options.overrides ?? {};
  const config = loadConfig([], {
    ...overrides,
    identity: { password_hash_rounds: FAST_PASSWORD_HASH_ROUNDS, ...overrides.identity },
  });
  const clock = {
    now: Date.now(),
    advance(seconds: number) {
      this.now += seconds * 1000;
    },
  };
  const tokens = new TokenService(database, config, { clock: () => clock.now });
  const app = createApiServer({ kind: 'identity', tokens });
  registerIdentityApi(app, { database, config, tokens });
  await app.ready();
  const boot = await bootstrapIdentity(database, config, { password: ADMIN_PASSWORD });
  const harness: Harness = {
    app,
    database,
    config,
    tokens,
    clock,
    admin: { userId: boot.userId, projectId: boot.projectId, token: '' },
    close: async () => {
      await app.close();
      await database.close();
    },
  };
  harness.admin.token = await login(harness, 'admin', ADMIN_PASSWORD, 'admin');
  return harness;
}

export async function call(
  h: Pick<Harness, 'app'>,
  method: InjectOptions['method'],
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await h.app.inject({
    method,
    url,
    headers: { ...(options.token ? { 'x-auth-token': options.token } : {}), ...options.headers },
    ...(options.body !== undefined ? { payload: options.body as object } : {}),
  });
  return {
    status: res.statusCode,
    body: res.body ? (JSON.parse(res.body) as Body) : {},
    headers: res.headers,
    raw: res.body,
  };
}

export function passwordAuth(user: string, password: string, project?: string, domain = 'Default') {
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { name: domain }, password } } },
      ...(project ? { scope: { project: { name: project, domain: { name: domain } } } } : {}),
    },
  };
}

/** A token for the user, scoped to the project when one is named; fails the test on any error. */
export async function login(
  h: Pick<Harness, 'app'>,
  user: string,
  password: string,
  project?: string,
): Promise<string> {
  const res = await call(h, 'POST', '/v3/auth/tokens', { body: passwordAuth(user, password, project) });
  if (res.status !== 201) throw new Error(`login of ${user} failed: ${res.status} ${res.raw}`);
  return String(res.headers['x-subject-token']);
}

/** Creates a project and a user holding `role` on it, as the admin; returns their ids. */
export async function makeMember(
  h: Harness,
  names: { user: string; project: string; password?: string; role?: string },
): Promise<{ userId: string; projectId: string }> {
  const token = h.admin.token;
  const project = await call(h, 'POST', '/v3/projects', { token, body: { project: { name: names.project } } });
  const user = await call(h, 'POST', '/v3/users', {
    token,
    body: { user: { name: names.user, password: names.password ?? 'pw' } },
  });
  const roles = await call(h, 'GET', `/v3/roles?name=${names.role ?? 'member'}`, { token });
  const projectId = project.body.project!.id;
  const userId = user.body.user!.id;
  const roleId = roles.body.roles![0]!.id;
  const put = await call(h, 'PUT', `/v3/projects/${projectId}/users/${userId}/roles/${roleId}`, { token });
  if (put.status !== 204) throw new Error(`grant failed: ${put.status} ${put.raw}`);
  return { userId, projectId };
}
