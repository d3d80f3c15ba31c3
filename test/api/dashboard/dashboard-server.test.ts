/**
 * The dashboard's listener: its built files with their headers, nothing outside the build, and the four
 * APIs relayed under /api/<service>/ to the same app that serves each API's port, token checks included.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiRoute, createDashboardServer, type DashboardApis } from '../../../src/api/dashboard/dashboard-server.ts';
import { createApiServer } from '../../../src/api/http/create-server.ts';
import { fakeTokens, TOKENS } from '../../helpers/fake-tokens.ts';

const KINDS = ['identity', 'compute', 'image', 'network'] as const;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

describe('dashboard server', () => {
  let dir: string;
  const apis = {} as DashboardApis;
  const servers: Server[] = [];
  let built: string;
  let unbuilt: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-dashboard-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Stratus</title>');
    writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
    // A file beside the build, which no request may reach.
    writeFileSync(join(dir, '..', `${dir.split('/').pop()}-outside.txt`), 'secret');
    for (const kind of KINDS) {
      const app = createApiServer({ kind, tokens: fakeTokens });
      app.get('/v1/whoami', async (request) => ({ kind, url: request.url, project: request.ctx.projectId }));
      await app.ready();
      apis[kind] = app;
    }
    const a = createDashboardServer({ apis, files: { dir }, consoleOrigin: 'http://127.0.0.1:6080' });
    const b = createDashboardServer({ apis, files: { error: 'Cannot find package vite' } });
    servers.push(a, b);
    [built, unbuilt] = [await listen(a), await listen(b)];
  });
  after(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    for (const app of Object.values(apis)) await app.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-outside.txt`, { force: true });
  });

  it('maps /api/<service>/... to the service and the path under it', () => {
    assert.equal(apiRoute(apis, '/api/compute/v2.1/servers?limit=1')?.url, '/v2.1/servers?limit=1');
    assert.equal(apiRoute(apis, '/api/identity')?.url, '/');
    assert.equal(apiRoute(apis, '/api/image/v2/images')?.app, apis.image);
    assert.equal(apiRoute(apis, '/api/placement/x'), null);
    assert.equal(apiRoute(apis, '/apix/compute/'), null);
  });

  it('relays each API to its app, which checks the token', async () => {
    for (const kind of KINDS) {
      const ok = await fetch(`${built}/api/${kind}/v1/whoami?x=1`, { headers: { 'x-auth-token': TOKENS.alice } });
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { kind, url: '/v1/whoami?x=1', project: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' });
      assert.equal((await fetch(`${built}/api/${kind}/v1/whoami`)).status, 401);
    }
  });

  it('serves the build: index.html revalidated, hashed assets kept, both under its security policy', async () => {
    const index = await fetch(`${built}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const policy = index.headers.get('content-security-policy') ?? '';
    assert.match(policy, /default-src 'self'.*frame-ancestors 'none'/);
    // It may frame the console proxy (the VNC console) and nothing else.
    assert.match(policy, /frame-src http:\/\/127\.0\.0\.1:6080;/);
    assert.equal(await index.text(), '<!doctype html><title>Stratus</title>');
    const asset = await fetch(`${built}/assets/index-abc.js`);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(await asset.text(), 'console.log(1)');
  });

  it('serves nothing outside the build and only GET and HEAD', async () => {
    assert.equal((await fetch(`${built}/..%2f${dir.split('/').pop()}-outside.txt`)).status, 404);
    assert.equal((await fetch(`${built}/nope.js`)).status, 404);
    const post = await fetch(`${built}/index.html`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('without a build says why and what to do, and the APIs still work', async () => {
    const page = await fetch(`${unbuilt}/`);
    assert.equal(page.status, 503);
    assert.match(await page.text(), /not built: Cannot find package vite\nRun `npm run build`/);
    const api = await fetch(`${unbuilt}/api/compute/v1/whoami`, { headers: { 'x-auth-token': TOKENS.admin } });
    assert.equal(api.status, 200);
  });
});
