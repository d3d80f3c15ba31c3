/**
 * The tenant-isolation sweep, driven by the route tables of the four APIs: project B's member and reader
 * try every route that names one of project A's resources (servers and their actions, metadata and tags,
 * key pairs, images, networks, subnets, ports, security groups and rules, routers, floating IPs, server
 * groups, quotas, A's project and user) and must be refused (400, 403 or 404: what the real services
 * answer, never a state conflict that would tell the resource exists), with nothing changed; every list
 * they read, also with all_tenants and project filters (ignored without admin, as Nova does), must show
 * none of A's resources.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { routeTable, type RouteEntry } from '../../src/api/http/create-server.ts';
import {
  API_NAMES,
  schemaProperties,
  seedResources,
  startFourApis,
  type ApiName,
  type Caller,
  type FourApis,
  type Seeded,
} from '../helpers/four-apis.ts';

/** Neutron's member names, for the bodies of its routes (they have no body schema of their own). */
const NEUTRON_MEMBERS: Record<string, string> = {
  networks: 'network',
  subnets: 'subnet',
  ports: 'port',
  'security-groups': 'security_group',
  'security-group-rules': 'security_group_rule',
  routers: 'router',
  floatingips: 'floatingip',
};

/** Routes any caller may read for any project, as in Nova (os_compute_api:os-quota-sets:defaults is "@"). */
const PUBLIC_ROUTES = new Set([
  'GET /v2.1/os-quota-sets/:id/defaults',
  'GET /v2.1/:project_id/os-quota-sets/:id/defaults',
]);

/** Nova's server actions (the action route validates per action, so its table entry lists none). */
const SERVER_ACTIONS = [
  'os-start',
  'os-stop',
  'reboot',
  'pause',
  'unpause',
  'suspend',
  'resume',
  'lock',
  'unlock',
  'shelve',
  'shelveOffload',
  'unshelve',
  'rescue',
  'unrescue',
  'createImage',
  'createBackup',
  'resize',
  'confirmResize',
  'revertResize',
  'migrate',
  'rebuild',
  'changePassword',
  'addSecurityGroup',
  'removeSecurityGroup',
  'os-getConsoleOutput',
  'os-getVNCConsole',
  'os-resetState',
  'trigger_crash_dump',
  'forceDelete',
  'restore',
  'evacuate',
  'os-migrateLive',
];

/** Server actions with what each needs to pass validation, so that the ownership check is what answers. */
function actionBody(action: string, seeded: Seeded): unknown {
  const bodies: Record<string, unknown> = {
    reboot: { type: 'HARD' },
    createImage: { name: 'stolen' },
    createBackup: { name: 'stolen', backup_type: 'daily', rotation: 1 },
    resize: { flavorRef: seeded.byCollection['flavors'] },
    rebuild: { imageRef: seeded.byCollection['images'] },
    changePassword: { adminPass: 'stolen-pass' },
    addSecurityGroup: { name: 'default' },
    removeSecurityGroup: { name: 'default' },
    'os-getConsoleOutput': { length: 10 },
    'os-getVNCConsole': { type: 'novnc' },
    rescue: {},
    evacuate: {},
    'os-migrateLive': { host: null, block_migration: 'auto' },
    'os-resetState': { state: 'active' },
  };
  return { [action]: action in bodies ? bodies[action] : null };
}

/** The requests of one route on A's resources (null: the route names none of them). */
function attempts(api: ApiName, route: RouteEntry, seeded: Seeded, owned: Set<string>): InjectOptions[] | null {
  const parts = route.url.split('/');
  let touchesA = false;
  const path = parts
    .map((part, i) => {
      if (!part.startsWith(':')) return part;
      const name = part.slice(1);
      const id =
        name === 'project_id' && parts[i - 1] !== 'quotas'
          ? null
          : (seeded.byParam[name] ?? seeded.byCollection[parts[i - 1] ?? '']);
      if (id && owned.has(id)) touchesA = true;
      return id ?? part;
    })
    .join('/');
  if (!touchesA || path.includes('/:')) return null;
  const method = route.method as InjectOptions['method'];
  if (method === 'GET' || method === 'DELETE') return [{ method, url: path }];
  if (route.url.endsWith('/servers/:id/action')) {
    const names = Object.keys(schemaProperties(route.schema?.body));
    return (names.length ? names : SERVER_ACTIONS).map((action) => ({
      method,
      url: path,
      payload: actionBody(action, seeded) as object,
    }));
  }
  if (api === 'image' && route.url.endsWith('/file')) {
    return [{ method, url: path, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(512) }];
  }
  if (api === 'image' && method === 'PATCH') {
    return [
      {
        method,
        url: path,
        headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
        payload: JSON.stringify([{ op: 'replace', path: '/name', value: 'stolen' }]),
      },
    ];
  }
  const collection = parts.find((p) => p in NEUTRON_MEMBERS);
  const wrapper =
    Object.keys(schemaProperties(route.schema?.body))[0] ??
    (api === 'network' && collection ? NEUTRON_MEMBERS[collection] : undefined);
  const payload = wrapper ? { [wrapper]: wrapper === 'metadata' ? { k: 'stolen' } : { name: 'stolen' } } : {};
  return [{ method, url: path, payload }];
}

describe('tenant isolation across the four APIs', () => {
  let h: FourApis;
  let seeded: Seeded;
  let owned: Set<string>;
  before(async () => {
    h = await startFourApis();
    seeded = await seedResources(h);
    const a = h.memberA;
    const global = new Set([
      'flavors',
      'os-aggregates',
      'regions',
      'services',
      'endpoints',
      'roles',
      'domains',
      'extensions',
      'os-hypervisors',
      'os-quota-class-sets',
    ]);
    owned = new Set([
      ...Object.entries(seeded.byCollection)
        .filter(([c]) => !global.has(c))
        .map(([, id]) => id),
      a.projectId,
      a.userId,
    ]);
    owned.delete('host1');
  });
  after(() => h.close());

  for (const who of ['memberB', 'readerB'] as const) {
    it(`refuses ${who} every route on project A's resources, changing nothing`, async () => {
      const caller: Caller = h[who];
      const failures: string[] = [];
      let tried = 0;
      const statuses = new Map<number, number>();
      for (const api of API_NAMES) {
        for (const route of routeTable(h.apps[api])) {
          if (route.method === 'HEAD') continue;
          for (const request of attempts(api, route, seeded, owned) ?? []) {
            const before = await h.changes();
            const res = await h.request(api, caller, {
              ...request,
              headers: { 'x-openstack-nova-api-version': 'latest', ...request.headers },
            });
            tried++;
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
            const what = `${api} ${String(request.method)} ${String(request.url)} ${JSON.stringify(request.payload ?? '')} -> ${res.statusCode} ${res.body.slice(0, 160)}`;
            // 410: the routes Nova removed answer Gone whatever the id, which tells nothing.
            const allowed = PUBLIC_ROUTES.has(`${route.method} ${route.url}`) ? [200] : [400, 403, 404, 405, 410];
            if (!allowed.includes(res.statusCode)) failures.push(what);
            else if ((await h.changes()) !== before) failures.push(`${what} (changed the database)`);
          }
        }
      }
      assert.ok(tried > 120, `only ${tried} requests`);
      // Mostly 404 and 403: a sweep answered by validation alone (400) would prove nothing.
      assert.ok((statuses.get(400) ?? 0) < tried / 4, `too many 400s: ${JSON.stringify([...statuses])}`);
      assert.deepEqual(failures, [], `${failures.length} of ${tried}:\n${failures.join('\n')}`);
    });

    it(`shows ${who} none of project A's resources in any list, all_tenants or not`, async () => {
      const caller: Caller = h[who];
      const a = h.memberA.projectId;
      const queries = [
        '',
        '?all_tenants=1',
        '?all_tenants=True',
        `?project_id=${a}`,
        `?tenant_id=${a}`,
        `?all_tenants=1&project_id=${a}`,
      ];
      const leaks: string[] = [];
      const secrets = [...owned].filter((id) => id !== caller.projectId);
      // A list's links repeat its query: an id the caller itself sent is no leak.
      const shown = (body: string, query: string) =>
        secrets.filter((id) => id.length > 4 && !query.includes(id) && body.includes(id));
      for (const api of API_NAMES) {
        for (const route of routeTable(h.apps[api])) {
          if (route.method !== 'GET' || route.url.includes(':') || route.url.includes('*')) continue;
          for (const query of queries) {
            const res = await h.request(api, caller, {
              method: 'GET',
              url: `${route.url}${query}`,
              headers: { 'x-openstack-nova-api-version': 'latest' },
            });
            if (res.statusCode >= 300) continue;
            const leaked = shown(res.body, query);
            if (leaked.length) leaks.push(`${api} GET ${route.url}${query} shows ${leaked.join(', ')}`);
          }
        }
      }
      assert.deepEqual(leaks, []);
    });
  }
});
