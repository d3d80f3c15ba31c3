/**
 * VNC consoles through the API and the console proxy: POST /servers/{id}/remote-consoles (2.6+) and
 * os-getVNCConsole (2.1-2.5) with Nova's bodies and errors, answered by compute hosts on an in-process
 * bus — one with the fake driver (no consoles), one whose guests' screens are a small RFB server of
 * this test — then the proxy: a websocket with the URL's token reaches that screen once, and only once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createConsoleProxy, type ConsoleProxy } from '../../../src/api/console/console-proxy.ts';
import { fileUnder } from '../../../src/api/console/static-files.ts';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { InProcessBroker, InProcessTransport, RpcClient, RpcServer } from '../../../src/common/rpc/index.ts';
import { ComputeManager } from '../../../src/compute/manager.ts';
import { computeEndpoints } from '../../../src/compute/rpc.ts';
import type { VncConsole } from '../../../src/compute/virt/driver.ts';
import { FakeDriver } from '../../../src/compute/virt/fake/fake-driver.ts';
import { ConductorRpcApi } from '../../../src/wire/contracts/conductor.ts';
import { instancePayload } from '../../../src/objects/instance-payload.ts';
import { markInstanceDeleted, type Instance } from '../../../src/objects/instances.ts';
import { ConsoleSocket, openConsoleSocket } from '../../helpers/console-websocket.ts';
import { client, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';
import { fakeDriverOptions } from '../../helpers/fake-driver-options.ts';
import { NoopNetworkDriver } from '../../../src/compute/network/noop-driver.ts';

const FAKE_OPTIONS = fakeDriverOptions({ vcpus: 8, memoryMb: 8192, storagePools: [{ tier: 'hdd', totalGb: 100 }] });

/** The fake driver, except that its guests have a screen: the test's RFB server. */
class ScreenDriver extends FakeDriver {
  constructor(private readonly screenPort: () => number) {
    super(FAKE_OPTIONS);
  }

  override async getVncConsole(uuid: string): Promise<VncConsole> {
    // Asking for the console output first refuses a guest this host does not run, as the driver must.
    await this.getConsoleOutput(uuid);
    return { host: '127.0.0.1', port: this.screenPort() };
  }
}

/** A VNC server's first steps (RFB 3.8): its version, then one security type (None) once the client answers. */
function startRfbServer(): Promise<Server> {
  const server = createServer((socket: Socket) => {
    socket.write('RFB 003.008\n');
    socket.once('data', () => socket.write(Buffer.from([1, 1])));
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let h: Harness;
let rfb: Server;
let proxy: ConsoleProxy;
let proxyPort: number;
let web: string;
let apiTransport: InProcessTransport;
const transports: InProcessTransport[] = [];
const rpcServers: RpcServer[] = [];

async function startHost(name: string, driver: FakeDriver, broker: InProcessBroker, vncEnabled = true) {
  const transport = new InProcessTransport(broker);
  await transport.connect();
  await driver.init(name);
  const config = loadConfig([], { vnc: { enabled: String(vncEnabled) } });
  const manager = new ComputeManager(
    name,
    config,
    driver,
    new NoopNetworkDriver(),
    new ConductorRpcApi(new RpcClient(transport, { responseTimeoutMs: 1000 })),
  );
  const server = new RpcServer(transport, { ...computeEndpoints(manager), server: name });
  await server.start();
  transports.push(transport);
  rpcServers.push(server);
  return driver;
}

/** A running server on `host`, whose guest the host's driver runs. */
async function guestOn(host: string, driver: FakeDriver, project?: string): Promise<Instance> {
  const server = await seedServer(h, { host, ...(project ? { project } : {}) });
  await driver.spawn(instancePayload(server), host);
  return server;
}

let screenHost: FakeDriver;
let fakeHost: FakeDriver;

before(async () => {
  const broker = new InProcessBroker();
  apiTransport = new InProcessTransport(broker);
  await apiTransport.connect();
  transports.push(apiTransport);
  h = await startComputeApi({}, { rpcTransport: apiTransport });
  rfb = await startRfbServer();
  screenHost = await startHost('screen-host', new ScreenDriver(() => (rfb.address() as AddressInfo).port), broker);
  fakeHost = await startHost('fake-host', new FakeDriver(FAKE_OPTIONS), broker);
  await startHost('novnc-host', new ScreenDriver(() => 1), broker, false);
  web = mkdtempSync(join(tmpdir(), 'stratus-novnc-'));
  writeFileSync(join(web, 'vnc_auto.html'), '<!doctype html><title>noVNC</title>');
  proxy = createConsoleProxy({ db: h.database.db, web, indexPage: '/vnc_auto.html', allowedOrigins: ['dash.example'] });
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.server.address() as AddressInfo).port;
});

after(async () => {
  await proxy.close();
  await new Promise((r) => rfb.close(r));
  for (const server of rpcServers) await server.stop();
  for (const transport of transports) await transport.close();
  await h.close();
  rmSync(web, { recursive: true, force: true });
});

const NOVNC = { 'os-getVNCConsole': { type: 'novnc' } };
const REMOTE = { remote_console: { protocol: 'vnc', type: 'novnc' } };
const URL_PREFIX = 'http://127.0.0.1:6080/vnc_lite.html?autoconnect=true&path=%3Ftoken%3D';

function tokenOf(url: string): string {
  assert.ok(url.startsWith(URL_PREFIX), url);
  return decodeURIComponent(url.slice(URL_PREFIX.length));
}

describe('POST /servers/{id}/remote-consoles', () => {
  it('answers a noVNC URL whose token leads to the guest host VNC address', async () => {
    const server = await guestOn('screen-host', screenHost);
    const res = await client(h.app, 'alice', '2.6').post(`/v2.1/servers/${server.uuid}/remote-consoles`, REMOTE);
    assert.equal(res.statusCode, 200);
    const body = res.json() as { remote_console: { protocol: string; type: string; url: string } };
    assert.deepEqual(Object.keys(body.remote_console).sort(), ['protocol', 'type', 'url']);
    assert.equal(body.remote_console.protocol, 'vnc');
    assert.equal(body.remote_console.type, 'novnc');
    tokenOf(body.remote_console.url);
    const rows = await h.database.db
      .selectFrom('console_auth_tokens')
      .selectAll()
      .where('instance_uuid', '=', server.uuid)
      .execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.host, '127.0.0.1');
    assert.equal(rows[0]!.port, (rfb.address() as AddressInfo).port);
    assert.equal(rows[0]!.console_type, 'novnc');
  });

  it('does not exist before 2.6', async () => {
    const server = await guestOn('screen-host', screenHost);
    const res = await client(h.app, 'alice', '2.5').post(`/v2.1/servers/${server.uuid}/remote-consoles`, REMOTE);
    assert.equal(res.statusCode, 404);
  });

  it('refuses bodies outside the schema, other protocols and other types with 400s', async () => {
    const server = await guestOn('screen-host', screenHost);
    const post = (body: unknown, version = '2.6') =>
      client(h.app, 'alice', version).post(`/v2.1/servers/${server.uuid}/remote-consoles`, body);
    const cases: [unknown, RegExp][] = [
      [{ remote_console: { protocol: 'telnet', type: 'novnc' } }, /protocol/],
      [{ remote_console: { protocol: 'vnc', type: 'fancy' } }, /type/],
      [{ remote_console: { protocol: 'vnc' } }, /type/],
      [{ remote_console: { ...REMOTE.remote_console, extra: 1 } }, /extra/],
      [{ remote_console: { protocol: 'spice', type: 'spice-html5' } }, /^Unavailable console type spice-html5\.$/],
      [{ remote_console: { protocol: 'vnc', type: 'xvpvnc' } }, /^Invalid console type xvpvnc$/],
      [{ remote_console: { protocol: 'vnc', type: 'spice-html5' } }, /^Invalid console type spice-html5$/],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(fault(res).name, 'badRequest');
      assert.match(fault(res).message, message);
    }
    // MKS came with 2.8: a valid protocol there (and unavailable here), a schema error before.
    assert.equal((await post({ remote_console: { protocol: 'mks', type: 'webmks' } }, '2.7')).statusCode, 400);
    const mks = await post({ remote_console: { protocol: 'mks', type: 'webmks' } }, '2.8');
    assert.match(fault(mks).message, /^Unavailable console type webmks\.$/);
    const rows = await h.database.db
      .selectFrom('console_auth_tokens')
      .select('id')
      .where('instance_uuid', '=', server.uuid)
      .execute();
    assert.deepEqual(rows, []);
  });
});

describe('os-getVNCConsole', () => {
  it("answers Nova's console body", async () => {
    const server = await guestOn('screen-host', screenHost);
    const res = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, NOVNC);
    assert.equal(res.statusCode, 200);
    const body = res.json() as { console: { type: string; url: string } };
    assert.deepEqual(Object.keys(body.console).sort(), ['type', 'url']);
    assert.equal(body.console.type, 'novnc');
    tokenOf(body.console.url);
  });

  it('is gone at 2.6, where remote-consoles replaces it', async () => {
    const server = await guestOn('screen-host', screenHost);
    const res = await client(h.app, 'alice', '2.6').post(`/v2.1/servers/${server.uuid}/action`, NOVNC);
    assert.equal(res.statusCode, 404);
  });

  it('refuses a missing or unknown type', async () => {
    const server = await guestOn('screen-host', screenHost);
    for (const body of [{ 'os-getVNCConsole': {} }, { 'os-getVNCConsole': { type: 'spice-html5' } }]) {
      const res = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
  });

  it('answers 409 for a server without a host, not running, or being deleted', async () => {
    const notPlaced = await seedServer(h, { host: null });
    const stopped = await seedServer(h, { host: 'screen-host', state: { vm_state: 'stopped', power_state: 4 } });
    const deleting = await seedServer(h, { host: 'screen-host', state: { task_state: 'deleting' } });
    const expected: [Instance, RegExp][] = [
      [notPlaced, /is not ready/],
      [stopped, /in vm_state stopped\. Cannot get_vnc_console while the instance is in this state\./],
      [deleting, /in task_state deleting\. Cannot get_vnc_console/],
    ];
    for (const [server, message] of expected) {
      const res = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, NOVNC);
      assert.equal(res.statusCode, 409, server.uuid);
      assert.equal(fault(res).name, 'conflictingRequest');
      assert.match(fault(res).message, message);
    }
  });

  it("answers 404 for another project's server", async () => {
    const server = await guestOn('screen-host', screenHost);
    const res = await client(h.app, 'bob').post(`/v2.1/servers/${server.uuid}/action`, NOVNC);
    assert.equal(res.statusCode, 404);
  });

  it('answers 400 where the host has no VNC: the fake driver, or [vnc] enabled = false', async () => {
    const onFake = await guestOn('fake-host', fakeHost);
    const noVnc = await seedServer(h, { host: 'novnc-host' });
    for (const server of [onFake, noVnc]) {
      const res = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, NOVNC);
      assert.equal(res.statusCode, 400, server.host ?? '');
      assert.equal(fault(res).message, 'Unavailable console type vnc.');
    }
  });
});

describe('[vnc] novncproxy_base_url', () => {
  it('is the base of the URLs handed out', async () => {
    const base = 'https://console.example.com/vnc_auto.html';
    const other = await startComputeApi({ vnc: { novncproxy_base_url: base } }, { rpcTransport: apiTransport });
    try {
      const server = await seedServer(other, { host: 'screen-host' });
      await screenHost.spawn(instancePayload(server), 'screen-host');
      const res = await client(other.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, NOVNC);
      assert.equal(res.statusCode, 200);
      assert.match(
        (res.json() as { console: { url: string } }).console.url,
        /^https:\/\/console\.example\.com\/vnc_auto\.html\?autoconnect=true&path=%3Ftoken%3D[0-9a-f-]{36}$/,
      );
    } finally {
      await other.close();
    }
  });
});

/** Opens the console websocket of `token` on the test's proxy. */
function openConsole(token: string | null, headers: Record<string, string> = {}): Promise<ConsoleSocket | number> {
  const query = token === null ? '' : `?token=${encodeURIComponent(token)}`;
  return openConsoleSocket(`ws://127.0.0.1:${proxyPort}/${query}`, headers);
}

async function consoleToken(server: Instance): Promise<string> {
  const res = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, NOVNC);
  assert.equal(res.statusCode, 200, res.body);
  return tokenOf((res.json() as { console: { url: string } }).console.url);
}

describe('the console proxy', () => {
  it('relays the RFB handshake for a fresh token, and refuses the same token after', async () => {
    const token = await consoleToken(await guestOn('screen-host', screenHost));
    const screen = await openConsole(token, { origin: `http://127.0.0.1:${proxyPort}` });
    assert.ok(screen instanceof ConsoleSocket);
    assert.equal(screen.ws.protocol, 'binary');
    assert.equal((await screen.read(12)).toString('latin1'), 'RFB 003.008\n');
    screen.ws.send(Buffer.from('RFB 003.008\n', 'latin1'));
    assert.deepEqual([...(await screen.read(2))], [1, 1]);
    screen.ws.close();
    assert.equal(await openConsole(token), 401);
  });

  it('refuses a websocket without a token, with an unknown one, or of a deleted server', async () => {
    assert.equal(await openConsole(null), 401);
    assert.equal(await openConsole('00000000-0000-4000-8000-000000000000'), 401);
    const server = await guestOn('screen-host', screenHost);
    const token = await consoleToken(server);
    await markInstanceDeleted(h.database.db, server.uuid);
    assert.equal(await openConsole(token), 401);
  });

  it('refuses a page of another site without using up the token', async () => {
    const token = await consoleToken(await guestOn('screen-host', screenHost));
    assert.equal(await openConsole(token, { origin: 'http://evil.example' }), 403);
    const screen = await openConsole(token, { origin: 'https://dash.example:8443' });
    assert.ok(screen instanceof ConsoleSocket, 'an allowed origin gets through with the same token');
    screen.ws.close();
  });

  it('answers 502 when the guest VNC server cannot be reached', async () => {
    const server = await guestOn('screen-host', screenHost);
    const token = await consoleToken(server);
    // The token names a port where nothing listens any more.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await h.database.db
      .updateTable('console_auth_tokens')
      .set({ port })
      .where('instance_uuid', '=', server.uuid)
      .execute();
    assert.equal(await openConsole(token), 502);
  });

  it('serves the noVNC files and nothing outside them', async () => {
    const page = await fetch(`http://127.0.0.1:${proxyPort}/vnc_auto.html`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /noVNC/);
    const root = await fetch(`http://127.0.0.1:${proxyPort}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/vnc_auto.html');
    assert.equal((await fetch(`http://127.0.0.1:${proxyPort}/missing.js`)).status, 404);
    assert.equal(fileUnder(web, '/%2e%2e/%2e%2e/etc/passwd'), null);
    assert.equal(fileUnder(web, '/app/../vnc_auto.html'), join(web, 'vnc_auto.html'));
    assert.equal((await fetch(`http://127.0.0.1:${proxyPort}/vnc_auto.html`, { method: 'POST' })).status, 405);
  });
});
