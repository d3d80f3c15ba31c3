/**
 * The VNC console of a real guest through the real `openstack` CLI: all-in-one with the qemu driver,
 * `openstack console url show --novnc` (the os-getVNCConsole action, and remote-consoles at 2.6), the
 * noVNC page behind the URL, then the websocket noVNC would open: the guest's qemu greets with its RFB
 * version and offers its security types through the proxy. A token opens one console only; deleting the
 * server leaves no qemu behind and kills its other tokens. Two guests get two VNC ports, and neither takes
 * a port another process holds.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConsoleSocket, openConsoleSocket, websocketUrlOf } from '../helpers/console-websocket.ts';
import { startAllInOne, type Deployment } from '../helpers/deployments.ts';
import { qemuProcessesOf, waitUntil } from '../helpers/processes.ts';
import { RfbScreen } from '../helpers/rfb-screen.ts';
import { GUEST_BOOT_WAIT_MS, markerCount } from '../helpers/guest-image.ts';

/** More lit pixels than a text cursor has (9 by 2): a few characters printed. */
const PRINTED_PIXELS = 100;

/** VNC display 0. */
const FIRST_VNC_PORT = 5900;

/** The guest VNC port the token of a console URL leads to, as the API recorded it. */
async function tokenPort(d: Deployment, url: string): Promise<number> {
  const token = new URLSearchParams(new URL(url).searchParams.get('path') ?? '').get('token') ?? '';
  const row = await d.database.db
    .selectFrom('console_auth_tokens')
    .select('port')
    .where('token_hash', '=', createHash('sha256').update(token).digest('hex'))
    .executeTakeFirstOrThrow();
  return row.port;
}

/** Reads the RFB greeting through the console, answers it, and returns the security types offered. */
async function rfbHandshake(screen: ConsoleSocket): Promise<{ version: string; securityTypes: number[] }> {
  const version = (await screen.read(12)).toString('latin1');
  assert.match(version, /^RFB 003\.00[378]\n$/);
  screen.ws.send(Buffer.from(version, 'latin1'));
  const [count] = await screen.read(1);
  assert.ok(count && count > 0, 'the VNC server offers at least one security type');
  return { version: version.trim(), securityTypes: [...(await screen.read(count))] };
}

describe('openstack console url show --novnc with the qemu driver (real guest)', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-console-'));
    d = await startAllInOne(dir, cleanup, { driver: 'qemu' });
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'console.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a noVNC URL whose websocket reaches the guest once per token', async () => {
    const { cli } = d;
    const server = await cli.createServerAndWait('--image', 'stratus-guest', '--flavor', 'console.tiny', 'console-vm');
    assert.equal(server.status, 'ACTIVE');

    const shown = await cli.json<{ type: string; url: string }>('console', 'url', 'show', '--novnc', server.id);
    assert.equal(shown.type, 'novnc');
    assert.match(
      shown.url,
      /^http:\/\/127\.0\.0\.1:\d+\/vnc_lite\.html\?autoconnect=true&path=%3Ftoken%3D[0-9a-f-]{36}$/,
    );

    // The page noVNC runs in, served by the proxy from Debian's novnc package.
    const page = await fetch(shown.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /noVNC/);

    const screen = await openConsoleSocket(websocketUrlOf(shown.url));
    assert.ok(screen instanceof ConsoleSocket, `the console websocket was refused with HTTP ${String(screen)}`);
    const { securityTypes } = await rfbHandshake(screen);
    assert.ok(securityTypes.includes(1), `qemu offers no authentication on loopback (got ${securityTypes.join(',')})`);
    screen.ws.close();
    assert.equal(await openConsoleSocket(websocketUrlOf(shown.url)), 401, 'a used token is refused');

    // Microversion 2.6 and later: the same through POST /servers/{id}/remote-consoles.
    const remote = await cli.json<{ protocol: string; type: string; url: string }>(
      ...['--os-compute-api-version', '2.6', 'console', 'url', 'show', '--novnc', server.id],
    );
    assert.equal(remote.protocol, 'vnc');
    assert.equal(remote.type, 'novnc');
    const again = await openConsoleSocket(websocketUrlOf(remote.url));
    assert.ok(again instanceof ConsoleSocket, `the 2.6 console websocket was refused with HTTP ${String(again)}`);
    // The guest's screen (its VGA card), not qemu's "no graphic display device" placeholder: once the guest
    // has booted, lines of text (far more lit pixels than the blinking cursor's) appear as it prints its
    // uptime every 2 s.
    await waitUntil(
      'the guest to boot',
      async () => markerCount(await cli.ok('console', 'log', 'show', server.id)) > 0,
      GUEST_BOOT_WAIT_MS,
    );
    const screen2 = await RfbScreen.open(again);
    const first = await screen2.frame();
    assert.ok(first.colours > 1, `the screen shows something (${first.width}x${first.height}, one colour)`);
    await waitUntil(
      'the guest to print on its screen',
      async () => (await screen2.frame()).lit > first.lit + PRINTED_PIXELS,
    );
    again.ws.close();

    const unused = await cli.json<{ url: string }>('console', 'url', 'show', '--novnc', server.id);
    await cli.ok('server', 'delete', '--wait', server.id);
    assert.equal(await qemuProcessesOf(server.id), 0);
    assert.equal(await openConsoleSocket(websocketUrlOf(unused.url)), 401, "a deleted server's token is refused");
  });

  it('gives each guest its own VNC port, past ports other processes hold', async () => {
    const { cli } = d;
    // The first display's port, held by "another process" (unless something holds it already).
    const holder = createServer();
    const held = await new Promise<boolean>((resolve) => {
      holder.once('error', () => resolve(false));
      holder.listen(FIRST_VNC_PORT, '127.0.0.1', () => resolve(true));
    });
    try {
      // Booted at once: they take their ports the same way, and the test's time is one boot, not two.
      const ids = await Promise.all(
        ['vnc-a', 'vnc-b'].map(
          async (name) =>
            (await cli.createServerAndWait('--image', 'stratus-guest', '--flavor', 'console.tiny', name)).id,
        ),
      );
      const ports: number[] = [];
      for (const id of ids) {
        const { url } = await cli.json<{ url: string }>('console', 'url', 'show', '--novnc', id);
        ports.push(await tokenPort(d, url));
        const screen = await openConsoleSocket(websocketUrlOf(url));
        assert.ok(screen instanceof ConsoleSocket, `the console of ${id} was refused with HTTP ${String(screen)}`);
        await rfbHandshake(screen);
        screen.ws.close();
      }
      assert.notEqual(ports[0], ports[1]);
      if (held) assert.ok(!ports.includes(FIRST_VNC_PORT), `a guest took the held port: ${ports.join(', ')}`);
      await cli.ok('server', 'delete', '--wait', ...ids);
      for (const id of ids) assert.equal(await qemuProcessesOf(id), 0);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });
});
