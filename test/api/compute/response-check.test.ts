/**
 * The strict response check that every compute API test goes through (response-check.ts): it must
 * catch a stray key, a missing key, a wrong fault body and a route without a schema, and every route
 * the API registers must have a schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { parseVersion } from '../../../src/api/compute/microversion.ts';
import { checkResponse, schemaPath } from './response-check.ts';
import { RESPONSE_SCHEMAS } from './response-schemas/index.ts';
import { client, seedServer, startComputeApi, type Harness } from './helpers.ts';

function response(status: number, body: unknown): LightMyRequestResponse {
  return {
    statusCode: status,
    body: body === null ? '' : JSON.stringify(body),
    headers: {},
    raw: { req: { method: 'GET' } },
  } as unknown as LightMyRequestResponse;
}

const answered = (route: string, version = '2.1', extensions: string[] = [], isAdmin = false) => ({
  method: 'GET',
  route,
  version: parseVersion(version),
  extensions: new Set(extensions),
  isAdmin,
});

let h: Harness;
before(async () => {
  h = await startComputeApi();
});
after(() => h.close());

describe('strict response check', () => {
  it('passes a real server as shown, and fails it with a stray key or without a key Nova sends', async () => {
    const server = await seedServer(h);
    const shown = await client(h.app, 'alice', '2.96').get(`/v2.1/servers/${server.uuid}`);
    const body = shown.json() as { server: Record<string, unknown> };
    const route = answered('/v2.1/servers/:id', '2.96');
    checkResponse(response(200, body), route, 'url');

    assert.throws(
      () =>
        checkResponse(response(200, { server: { ...body.server, 'STRATUS-EXT-STORAGE:tier': 'hdd' } }), route, 'url'),
      /GET url \(route \/servers\/:id at 2\.96\) answered 200: a body Nova would not send[\s\S]*\/server\/STRATUS-EXT-STORAGE:tier: a key Nova does not send/,
    );
    const { pinned_availability_zone: _dropped, ...withoutPin } = body.server;
    assert.throws(
      () => checkResponse(response(200, { server: withoutPin }), route, 'url'),
      /\/server\/pinned_availability_zone: a key Nova sends is missing/,
    );
  });

  it("allows an extension's keys only when the request asked for the extension", async () => {
    const server = await seedServer(h);
    const shown = await client(h.app, 'alice', '2.96', { 'stratus-extensions': 'storage-tier' }).get(
      `/v2.1/servers/${server.uuid}`,
    );
    const body = shown.json() as { server: Record<string, unknown> };
    assert.equal(typeof body.server['STRATUS-EXT-STORAGE:tier'], 'string');
    checkResponse(response(200, structuredClone(body)), answered('/v2.1/servers/:id', '2.96', ['storage-tier']), 'url');
    assert.throws(
      () => checkResponse(response(200, structuredClone(body)), answered('/v2.1/servers/:id', '2.96'), 'url'),
      /a key Nova does not send/,
    );
  });

  it('fails admin-only keys shown to a member, and missing for an admin', async () => {
    const server = await seedServer(h);
    const asAdmin = (await client(h.app, 'admin', '2.96').get(`/v2.1/servers/${server.uuid}`)).json();
    assert.equal(asAdmin.server['OS-EXT-SRV-ATTR:host'], 'host1');
    checkResponse(response(200, structuredClone(asAdmin)), answered('/v2.1/servers/:id', '2.96', [], true), 'url');
    assert.throws(
      () => checkResponse(response(200, structuredClone(asAdmin)), answered('/v2.1/servers/:id', '2.96'), 'url'),
      /server 0: OS-EXT-SRV-ATTR:host shown to a member/,
    );
    const asMember = (await client(h.app, 'alice', '2.96').get(`/v2.1/servers/${server.uuid}`)).json();
    assert.throws(
      () => checkResponse(response(200, asMember), answered('/v2.1/servers/:id', '2.96', [], true), 'url'),
      /server 0: OS-EXT-SRV-ATTR:host missing for an admin/,
    );
  });

  it('fails an error that is not Nova fault body for its status', () => {
    const route = answered('/v2.1/servers/:id');
    checkResponse(response(404, { itemNotFound: { code: 404, message: 'gone' } }), route, 'url');
    assert.throws(() => checkResponse(response(404, { badRequest: { code: 404, message: 'x' } }), route, 'url'));
    assert.throws(() => checkResponse(response(400, { badRequest: { code: 400 } }), route, 'url'));
    assert.throws(() => checkResponse(response(500, { error: 'boom' }), route, 'url'));
  });

  it('fails a success whose route has no schema, naming the route', () => {
    assert.throws(
      () => checkResponse(response(200, {}), answered('/v2.1/os-nonexistent/:id'), 'url'),
      /no response schema for GET \/os-nonexistent\/:id 200/,
    );
  });

  it('maps registered routes to schema paths', () => {
    assert.equal(schemaPath('/v2.1/:project_id/servers/:id', true), '/servers/:id');
    assert.equal(schemaPath('/v2.1/servers', true), '/servers');
    assert.equal(schemaPath('/v2.1/', true), '');
    assert.equal(schemaPath('/v2.1', true), '');
    assert.equal(schemaPath('/', false), '/');
    assert.equal(schemaPath('/v2/', false), '/v2/');
  });

  it('every route the compute API registers has a response schema', async () => {
    const routes = new Set<string>();
    const app = (await import('../../../src/api/http/create-server.ts')).createApiServer({
      kind: 'compute',
      tokens: (await import('../../helpers/fake-tokens.ts')).fakeTokens,
    });
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const versioned = route.url.startsWith('/v2.1');
      for (const method of methods) {
        if (method !== 'HEAD') routes.add(`${method} ${schemaPath(route.url, versioned)}`);
      }
    });
    const { registerComputeApi } = await import('../../../src/api/compute/index.ts');
    registerComputeApi(app, {
      database: h.database,
      config: h.config,
      conductor: null as never,
      compute: null as never,
      images: h.images,
      notifications: null as never,
    });
    await app.ready();
    await app.close();
    const covered = new Set(RESPONSE_SCHEMAS.map((s) => `${s.method} ${s.path}`));
    const missing = [...routes].filter((r) => !covered.has(r));
    assert.deepEqual(missing, [], 'routes without a response schema');
  });
});
