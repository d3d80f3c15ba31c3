/**
 * The route-table fuzz: every route of the four APIs, taken from their route tables (so a new route is
 * covered without being listed here), is sent malformed input — bad ids in each path parameter, bodies of
 * the wrong JSON type, wrapper objects with each member of the wrong type (taken from the route's body
 * schema), huge, negative, empty, null and unicode values, prototype names, invalid JSON and UTF-8, bad
 * query strings and bad microversion headers — as the admin, who gets furthest into the code. Every
 * answer must be below 500 (501 and 503 are answers, not failures), in the API's own error format, and
 * a refusal must leave the database as it was. Deterministic: the same requests every run.
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
  type FourApis,
  type Seeded,
} from '../helpers/four-apis.ts';

const BAD_IDS = [
  'not-a-uuid',
  '99999999999999999999999',
  '%C3%BC%E2%98%83',
  '%00',
  '%FF%FE',
  '__proto__',
  'x'.repeat(300),
  'y'.repeat(2000),
];
const BAD_VALUES: unknown[] = [
  null,
  -1,
  2 ** 64,
  '',
  'ü☃'.repeat(200),
  'a\u0000b',
  [],
  {},
  true,
  { __proto__: null, toString: 1 },
];
const RAW_BODIES = [
  'null',
  '[]',
  '"text"',
  '12',
  '{}',
  '{"unexpected_key": 1}',
  '{',
  '{"a": 1e400}',
  '{"__proto__": {"isAdmin": true}}',
  '{"constructor": null}',
  '{"toString": {}}',
  '{"hasOwnProperty": 1}',
  '['.repeat(5000) + ']'.repeat(5000),
];
const INVALID_UTF8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]); // {"\xff\xfe":1}
const BAD_QUERIES = [
  'limit=-1',
  'limit=abc',
  'limit=99999999999999999999',
  'marker=not-a-marker',
  'sort_key=__proto__',
  'sort_dir=sideways',
  'name=%00',
  'changes-since=garbage',
  'changes-before=2026-13-45',
  'a[b]=1',
  '%FF=1',
  'limit=1&limit=2',
  'status=%C3%28',
  '__proto__=1',
  'constructor=1',
  'all_tenants=yes&project_id=%00',
];
const BAD_MICROVERSIONS: Record<string, string>[] = [
  { 'x-openstack-nova-api-version': '2.999' },
  { 'x-openstack-nova-api-version': 'abc' },
  { 'x-openstack-nova-api-version': '-1' },
  { 'x-openstack-nova-api-version': '2.0' },
  { 'openstack-api-version': 'compute 9.9' },
  { 'openstack-api-version': 'compute x.y' },
];

interface Probe {
  api: ApiName;
  route: string;
  request: InjectOptions;
}

/** Fills a route's parameters with the seeded resource each names (by the segment before it, or its name). */
function fillPath(url: string, seeded: Seeded, projectId: string, replace?: { index: number; value: string }): string {
  const parts = url.split('/');
  let n = 0;
  return parts
    .map((part, i) => {
      if (part === '*') return 'anything';
      if (!part.startsWith(':')) return part;
      const index = n++;
      if (replace?.index === index) return replace.value;
      const name = part.slice(1);
      if (name === 'project_id') return parts[i - 1] === 'quotas' ? seeded.byCollection['quotas']! : projectId;
      return seeded.byParam[name] ?? seeded.byCollection[parts[i - 1] ?? ''] ?? '5e5c3b1e-7c35-4f5c-9a53-6f3c0cfb1a2e';
    })
    .join('/');
}

/** The requests for one route: bad parameters, bodies, queries and headers. */
function probesFor(api: ApiName, route: RouteEntry, seeded: Seeded, projectId: string): Probe[] {
  const probes: Probe[] = [];
  const method = route.method as InjectOptions['method'];
  const name = `${api} ${route.method} ${route.url}`;
  const url = fillPath(route.url, seeded, projectId);
  const add = (request: InjectOptions) => probes.push({ api, route: name, request: { method, ...request } });
  const params = route.url.split('/').filter((p) => p.startsWith(':')).length;
  for (let index = 0; index < params; index++) {
    for (const value of BAD_IDS) add({ url: fillPath(route.url, seeded, projectId, { index, value }) });
  }
  // A DELETE with good parameters would only delete: it gets the refusals above and below alone.
  if (api === 'compute') for (const headers of BAD_MICROVERSIONS) add({ url, headers });
  if (route.method === 'DELETE') return probes;
  if (route.method === 'GET') {
    for (const query of BAD_QUERIES) add({ url: `${url}?${query}` });
    for (const key of Object.keys(schemaProperties(route.schema?.querystring)).slice(0, 20)) {
      for (const value of ['', '%00', '-1', 'zz%C3%BC', '99999999999999999999']) add({ url: `${url}?${key}=${value}` });
    }
    return probes;
  }
  const json = { 'content-type': 'application/json' };
  for (const payload of RAW_BODIES) add({ url, headers: json, payload });
  add({ url, headers: json, payload: INVALID_UTF8 });
  add({ url, headers: { 'content-type': 'text/plain' }, payload: '{}' });
  for (const [key, inner] of Object.entries(schemaProperties(route.schema?.body)).slice(0, 40)) {
    for (const value of [null, [], 'x', -1, {}]) add({ url, headers: json, payload: JSON.stringify({ [key]: value }) });
    for (const member of Object.keys(schemaProperties(inner)).slice(0, 15)) {
      for (const value of BAD_VALUES) {
        add({ url, headers: json, payload: JSON.stringify({ [key]: { [member]: value } }) });
      }
    }
  }
  return probes;
}

/** The API's own error format (src/api/http/error-body.ts), with the status it was sent with. */
function inOwnFormat(api: ApiName, status: number, body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const b = body as Record<string, Record<string, unknown>>;
  const keystone = (e: Record<string, unknown> | undefined) =>
    e?.['code'] === status && typeof e['message'] === 'string';
  switch (api) {
    case 'compute': {
      const keys = Object.keys(b);
      return keys.length === 1 && keystone(b[keys[0]!]);
    }
    case 'identity':
      return keystone(b['error']);
    case 'image':
      return keystone(b as unknown as Record<string, unknown>);
    case 'network':
      return status === 401 ? keystone(b['error']) : typeof b['NeutronError']?.['message'] === 'string';
  }
}

/** Routes whose probes would end the fixture itself run last: a server action may delete the server. */
const lastly = (route: RouteEntry) => (route.url.endsWith('/action') ? 1 : 0);

describe('route-table fuzz', () => {
  let h: FourApis;
  let seeded: Seeded;
  before(async () => {
    h = await startFourApis();
    seeded = await seedResources(h);
  });
  after(() => h.close());

  it('answers every malformed request below 500, in the API format, and changes nothing when refusing', async () => {
    const failures: string[] = [];
    let sent = 0;
    // The count after each request is the count before the next: one read per request.
    let changes = await h.changes();
    for (const api of API_NAMES) {
      const routes = routeTable(h.apps[api])
        .filter((r) => r.method !== 'HEAD')
        // The /v2.1/{project_id}/... copies run the same handlers: their path's project is probed once.
        .filter(
          (r) =>
            !(api === 'compute' && r.url.startsWith('/v2.1/:project_id/') && r.url !== '/v2.1/:project_id/servers'),
        )
        .sort((x, y) => lastly(x) - lastly(y));
      for (const route of routes) {
        for (const probe of probesFor(api, route, seeded, h.admin.projectId)) {
          const before = changes;
          const published = h.transport.casts.length;
          const res = await h.request(api, h.admin, probe.request);
          sent++;
          changes = await h.changes();
          // No compute host runs here: a request the API handed to one fails as Nova's does when the
          // host does not answer (500 or 504). Its input was accepted, which is what this test checks.
          const reachedHost = h.transport.casts.slice(published).some((c) => c.queue.startsWith('compute'));
          if (reachedHost && (res.statusCode === 500 || res.statusCode === 504)) continue;
          const what = `${probe.route}: ${String(probe.request.method)} ${String(probe.request.url).slice(0, 120)} ${JSON.stringify(probe.request.headers ?? {})} ${String(probe.request.payload ?? '').slice(0, 100)} -> ${res.statusCode}`;
          if (res.statusCode >= 500 && res.statusCode !== 501 && res.statusCode !== 503) {
            failures.push(`${what} ${res.body.slice(0, 300)}`);
            continue;
          }
          if (res.statusCode < 400) continue;
          let body: unknown;
          try {
            body = JSON.parse(res.body);
          } catch {
            body = undefined;
          }
          if (!inOwnFormat(api, res.statusCode, body))
            failures.push(`${what} not in the ${api} error format: ${res.body.slice(0, 200)}`);
          if (changes !== before) failures.push(`${what} refused but changed the database`);
        }
      }
    }
    assert.ok(sent > 3000, `only ${sent} requests`);
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed:\n${failures.join('\n')}`);
  });
});
