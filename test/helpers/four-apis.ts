/**
 * The four APIs (identity, compute, image, network) as one api process builds them (buildApiApps), over
 * an in-memory database and a bus that records what is cast instead of delivering it: for the tests that
 * walk every route (test/api/route-fuzz.test.ts, test/api/tenant-isolation.test.ts). Two projects, each
 * with a member and a reader, and the admin, all logged in through the identity API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApiApps, type ApiApps } from '../../src/api/service.ts';
import { bootstrapIdentity } from '../../src/api/identity/bootstrap.ts';
import { loadConfig, type Config } from '../../src/common/config/load-config.ts';
import { RpcClient } from '../../src/common/rpc/index.ts';
import type { Bus } from '../../src/runtime/bus.ts';
import { openTestDatabase, type TestDatabase } from './database.ts';
import { RecordingTransport } from './recording-transport.ts';

export type ApiName = 'identity' | 'compute' | 'image' | 'network';
export const API_NAMES: readonly ApiName[] = ['identity', 'compute', 'image', 'network'];

export interface Caller {
  token: string;
  userId: string;
  projectId: string;
}

export interface FourApis {
  apps: ApiApps;
  database: TestDatabase;
  config: Config;
  transport: RecordingTransport;
  admin: Caller;
  /** Project A's member and reader, project B's member and reader. */
  memberA: Caller;
  readerA: Caller;
  memberB: Caller;
  readerB: Caller;
  request(api: ApiName, who: Caller | null, options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Rows the database has inserted, updated or deleted since it opened (SQLite's total_changes()). */
  changes(): Promise<number>;
  close(): Promise<void>;
}

const PASSWORD = 'sweep-password-1';

export async function startFourApis(): Promise<FourApis> {
  const database = await openTestDatabase();
  const state = mkdtempSync(join(tmpdir(), 'stratus-four-apis-'));
  // The image store follows state_path.
  const config = loadConfig([], { DEFAULT: { state_path: state, rpc_response_timeout: '2' } });
  const transport = new RecordingTransport();
  // No compute host answers here: a call to one fails fast.
  const rpc = new RpcClient(transport, { responseTimeoutMs: 100 });
  const bus: Bus = { transport, rpc, close: () => rpc.close() };
  const apps = await buildApiApps(config, database, bus);
  const boot = await bootstrapIdentity(database, config, { password: PASSWORD });

  const request = (api: ApiName, who: Caller | null, options: InjectOptions) =>
    apps[api].inject({
      ...options,
      headers: { ...(who ? { 'x-auth-token': who.token } : {}), ...options.headers },
    });
  const login = async (user: string, userId: string, project: string, projectId: string): Promise<Caller> => {
    const res = await request('identity', null, {
      method: 'POST',
      url: '/v3/auth/tokens',
      payload: {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: user, domain: { id: 'default' }, password: PASSWORD } },
          },
          scope: { project: { name: project, domain: { id: 'default' } } },
        },
      },
    });
    if (res.statusCode !== 201) throw new Error(`login of ${user} failed: ${res.statusCode} ${res.body}`);
    return { token: String(res.headers['x-subject-token']), userId, projectId };
  };
  const admin = await login('admin', boot.userId, 'admin', boot.projectId);
  const asAdmin = async (url: string, payload?: object, method: 'POST' | 'PUT' | 'GET' = 'POST') => {
    const res = await request('identity', admin, { method, url, ...(payload ? { payload } : {}) });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.body ? (JSON.parse(res.body) as Record<string, { id: string }[] & { id: string }>) : {};
  };
  const roles = (await asAdmin('/v3/roles', undefined, 'GET'))['roles'] as unknown as { id: string; name: string }[];
  const roleId = (name: string) => roles.find((r) => r.name === name)!.id;
  const callers: Caller[] = [];
  for (const project of ['project-a', 'project-b']) {
    const projectId = (await asAdmin('/v3/projects', { project: { name: project } }))['project']!.id;
    for (const role of ['member', 'reader']) {
      const user = `${role}-${project.slice(-1)}`;
      const userId = (await asAdmin('/v3/users', { user: { name: user, password: PASSWORD } }))['user']!.id;
      await asAdmin(`/v3/projects/${projectId}/users/${userId}/roles/${roleId(role)}`, undefined, 'PUT');
      callers.push(await login(user, userId, project, projectId));
    }
  }
  const [memberA, readerA, memberB, readerB] = callers as [Caller, Caller, Caller, Caller];
  return {
    apps,
    database,
    config,
    transport,
    admin,
    memberA,
    readerA,
    memberB,
    readerB,
    request,
    changes: async () =>
      Number((await sql<{ n: number }>`select total_changes() as n`.execute(database.db)).rows[0]!.n),
    close: async () => {
      await Promise.all(API_NAMES.map((api) => apps[api].close()));
      await rpc.close();
      await database.close();
      rmSync(state, { recursive: true, force: true });
    },
  };
}

/** What the seed made: ids by the collection segment that precedes them in a route, and by parameter name. */
export interface Seeded {
  byCollection: Record<string, string>;
  byParam: Record<string, string>;
  serverId: string;
}

/**
 * One of every resource: project A's (made by its member, through the APIs, as a user would) and the
 * admin's cloud-wide ones (flavor, aggregate, external network, identity catalog). The server is then
 * marked ACTIVE on a host in the database, since nothing builds it here, so its actions get past the
 * state checks.
 */
export async function seedResources(h: FourApis): Promise<Seeded> {
  const ok = async (
    api: ApiName,
    who: Caller,
    method: InjectOptions['method'],
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await h.request(api, who, {
      method,
      url,
      headers,
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
    if (res.statusCode >= 300) throw new Error(`seed ${method} ${url}: ${res.statusCode} ${res.body}`);
    return (res.body ? JSON.parse(res.body) : {}) as Record<string, Record<string, string | number>>;
  };
  const a = h.memberA;
  const admin = h.admin;
  const flavorId = String(
    (
      await ok('compute', admin, 'POST', '/v2.1/flavors', {
        flavor: { name: 'sweep.tiny', ram: 64, vcpus: 1, disk: 1 },
      })
    )['flavor']!['id'],
  );
  const imageId = String(
    (await ok('image', a, 'POST', '/v2/images', { name: 'img-a', disk_format: 'raw', container_format: 'bare' }))['id'],
  );
  await ok('image', a, 'PUT', `/v2/images/${imageId}/file`, Buffer.alloc(1 << 16), {
    'content-type': 'application/octet-stream',
  });
  await ok('image', a, 'PUT', `/v2/images/${imageId}/tags/t1`);
  const mv = { 'x-openstack-nova-api-version': '2.37' };
  const serverId = String(
    (
      await ok(
        'compute',
        a,
        'POST',
        '/v2.1/servers',
        { server: { name: 'vm-a', flavorRef: flavorId, imageRef: imageId, networks: 'none' } },
        mv,
      )
    )['server']!['id'],
  );
  await h.database.db
    .updateTable('instances')
    .set({
      vm_state: 'active',
      task_state: null,
      power_state: 1,
      host: 'host1',
      node: 'host1',
      launched_at: new Date().toISOString(),
    })
    .where('uuid', '=', serverId)
    .execute();
  await ok('compute', a, 'PUT', `/v2.1/servers/${serverId}/metadata`, { metadata: { k: 'v' } });
  await ok('compute', a, 'PUT', `/v2.1/servers/${serverId}/tags/t1`, undefined, {
    'x-openstack-nova-api-version': '2.26',
  });
  await ok('compute', a, 'POST', '/v2.1/os-keypairs', { keypair: { name: 'kp-a' } });
  const groupId = String(
    (
      await ok('compute', a, 'POST', '/v2.1/os-server-groups', {
        server_group: { name: 'g-a', policies: ['anti-affinity'] },
      })
    )['server_group']!['id'],
  );
  const aggregateId = String(
    (await ok('compute', admin, 'POST', '/v2.1/os-aggregates', { aggregate: { name: 'agg' } }))['aggregate']!['id'],
  );
  const netId = String(
    (await ok('network', a, 'POST', '/v2.0/networks', { network: { name: 'net-a' } }))['network']!['id'],
  );
  const subnetId = String(
    (
      await ok('network', a, 'POST', '/v2.0/subnets', {
        subnet: { network_id: netId, cidr: '10.9.0.0/24', ip_version: 4 },
      })
    )['subnet']!['id'],
  );
  const portId = String(
    (await ok('network', a, 'POST', '/v2.0/ports', { port: { network_id: netId } }))['port']!['id'],
  );
  const sgId = String(
    (await ok('network', a, 'POST', '/v2.0/security-groups', { security_group: { name: 'sg-a' } }))['security_group']![
      'id'
    ],
  );
  const ruleId = String(
    (
      await ok('network', a, 'POST', '/v2.0/security-group-rules', {
        security_group_rule: {
          security_group_id: sgId,
          direction: 'ingress',
          protocol: 'tcp',
          port_range_min: 22,
          port_range_max: 22,
        },
      })
    )['security_group_rule']!['id'],
  );
  const routerId = String(
    (await ok('network', a, 'POST', '/v2.0/routers', { router: { name: 'r-a' } }))['router']!['id'],
  );
  const extId = String(
    (await ok('network', admin, 'POST', '/v2.0/networks', { network: { name: 'ext', 'router:external': true } }))[
      'network'
    ]!['id'],
  );
  await ok('network', admin, 'POST', '/v2.0/subnets', {
    subnet: { network_id: extId, cidr: '203.0.113.0/24', ip_version: 4 },
  });
  const fipId = String(
    (await ok('network', a, 'POST', '/v2.0/floatingips', { floatingip: { floating_network_id: extId } }))[
      'floatingip'
    ]!['id'],
  );
  const regionId = String(
    (await ok('identity', admin, 'POST', '/v3/regions', { region: { id: 'sweep-region' } }))['region']!['id'],
  );
  const serviceId = String(
    (await ok('identity', admin, 'POST', '/v3/services', { service: { type: 'sweep', name: 'sweep' } }))['service']![
      'id'
    ],
  );
  const endpointId = String(
    (
      await ok('identity', admin, 'POST', '/v3/endpoints', {
        endpoint: { service_id: serviceId, interface: 'public', url: 'http://sweep.example/' },
      })
    )['endpoint']!['id'],
  );
  const roleId = String(
    (await ok('identity', admin, 'POST', '/v3/roles', { role: { name: 'sweep-role' } }))['role']!['id'],
  );
  return {
    serverId,
    byCollection: {
      servers: serverId,
      flavors: flavorId,
      'os-keypairs': 'kp-a',
      images: imageId,
      'os-server-groups': groupId,
      'os-aggregates': aggregateId,
      'os-quota-sets': a.projectId,
      'os-quota-class-sets': 'default',
      'os-simple-tenant-usage': a.projectId,
      'os-hypervisors': 'host1',
      'os-tenant-networks': netId,
      'os-networks': netId,
      'os-security-groups': sgId,
      networks: netId,
      subnets: subnetId,
      ports: portId,
      'security-groups': sgId,
      'security-group-rules': ruleId,
      routers: routerId,
      floatingips: fipId,
      quotas: a.projectId,
      extensions: 'security-group',
      projects: a.projectId,
      users: a.userId,
      domains: 'default',
      roles: roleId,
      regions: regionId,
      services: serviceId,
      endpoints: endpointId,
    },
    byParam: {
      server_id: serverId,
      key: 'k',
      tag: 't1',
      user: a.userId,
      role: roleId,
      target: a.projectId,
      port_id: portId,
      host: 'host1',
      tenant_id: a.projectId,
      label: 'net-a',
      alias: 'security-group',
      name: 'kp-a',
      domain_id: 'default',
    },
  };
}

/** The members an object schema (or any of its alternatives) declares: what the route tests fill in. */
export function schemaProperties(schema: unknown): Record<string, unknown> {
  const s = schema as { properties?: Record<string, unknown>; anyOf?: unknown[]; oneOf?: unknown[] } | undefined;
  if (!s) return {};
  if (s.properties) return s.properties;
  return Object.assign({}, ...[...(s.anyOf ?? []), ...(s.oneOf ?? [])].map(schemaProperties)) as Record<
    string,
    unknown
  >;
}
