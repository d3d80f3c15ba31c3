/**
 * The dashboard's embedded VNC console with a real guest: all-in-one with the qemu driver, a server of
 * the demo guest, its detail page in Debian's chromium. The console frame is noVNC's page from the
 * console proxy; once the guest has booted, the pixels of its canvas change as it prints its uptime on its screen (the VGA
 * card, the kernel console on tty0), which qemu's "no graphic display device" placeholder never does.
 *
 * DASHBOARD_SCREENSHOTS=1 also writes the page's picture to docs/images/.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Frame } from 'playwright-core';
import { packageRoot } from '../../src/common/package-root.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { DASHBOARD_WAIT_MS, logInToDashboard } from '../helpers/dashboard-browser.ts';
import { passwordToken, startAllInOne, type Deployment } from '../helpers/deployments.ts';
import { GUEST_BOOT_WAIT_MS, GUEST_MARKER } from '../helpers/guest-image.ts';
import { qemuProcessesOf, waitUntil } from '../helpers/processes.ts';

const SCREENSHOTS = process.env['DASHBOARD_SCREENSHOTS'] ? join(packageRoot(), 'docs', 'images') : null;

/** A digest of the console canvas's pixels and how many of them are not black, read in the page. */
const READ_CANVAS = `(() => {
  const canvas = document.querySelector('canvas');
  if (!canvas || canvas.width === 0 || canvas.height === 0) return null;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let hash = 2166136261, lit = 0;
  for (let i = 0; i < data.length; i += 4) {
    const v = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16);
    if (v !== 0) lit++;
    hash = Math.imul(hash ^ v, 16777619);
  }
  return { digest: hash >>> 0, lit, width: canvas.width, height: canvas.height };
})()`;

interface CanvasPixels {
  digest: number;
  lit: number;
  width: number;
  height: number;
}

describe('dashboard VNC console with the qemu driver (real guest)', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let browser: Browser;
  let token = '';

  async function api<T>(path: string, method = 'GET', body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${d.dashboardUrl}api/${path}`, {
      method,
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-dashboard-console-'));
    [d, browser] = await Promise.all([startAllInOne(dir, cleanup, { driver: 'qemu' }), launchChromium()]);
    cleanup.unshift(() => browser.close());
    token = await passwordToken(`${d.dashboardUrl}api/identity/v3`, 'admin', 'secret', 'admin');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows the guest's screen on the server's page, changing as the guest prints", async () => {
    const images = await api<{ images: { id: string }[] }>('image/v2/images?name=stratus-guest');
    const flavor = await api<{ flavor: { id: string } }>('compute/v2.1/flavors', 'POST', {
      flavor: { name: 'screen.tiny', vcpus: 1, ram: 128, disk: 1 },
    });
    const created = await api<{ server: { id: string } }>('compute/v2.1/servers', 'POST', {
      server: { name: 'screen-vm', imageRef: images.body.images[0]!.id, flavorRef: flavor.body.flavor.id },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.body.server.id;
    await waitUntil(
      'the server to turn ACTIVE',
      async () =>
        (await api<{ server: { status: string } }>(`compute/v2.1/servers/${id}`)).body.server.status === 'ACTIVE',
      GUEST_BOOT_WAIT_MS,
    );

    // Past the firmware's screen: the guest's own lines are what must change it.
    await waitUntil(
      'the guest to boot',
      async () => {
        const log = await api<{ output: string }>(`compute/v2.1/servers/${id}/action`, 'POST', {
          'os-getConsoleOutput': {},
        });
        return log.body.output.includes(GUEST_MARKER);
      },
      GUEST_BOOT_WAIT_MS,
    );

    const { context, page } = await logInToDashboard(browser, d.dashboardUrl, 'admin', 'secret');
    await page.goto(`${d.dashboardUrl}#/servers/${id}`);
    await page.getByRole('heading', { name: 'Server screen-vm' }).waitFor({ timeout: DASHBOARD_WAIT_MS });
    const frameElement = await page.waitForSelector('iframe[title="VNC console"]', { timeout: DASHBOARD_WAIT_MS });
    const src = (await frameElement.getAttribute('src')) ?? '';
    assert.match(src, /\/vnc_lite\.html\?autoconnect=true&path=%3Ftoken%3D[0-9a-f-]{36}&scale=true$/);
    const frame = (await frameElement.contentFrame()) as Frame;
    const read = () => frame.evaluate(READ_CANVAS) as Promise<CanvasPixels | null>;
    const first = await waitUntil('text on the console canvas', async () => {
      const pixels = await read();
      return pixels && pixels.lit > 0 ? pixels : null;
    });
    assert.ok(first.width >= 640, `the guest's screen is ${first.width}x${first.height}`);
    // A line printed, not the cursor blinking (9 by 2 pixels): far more pixels lit than before.
    await waitUntil('the guest to print on its screen', async () => ((await read())?.lit ?? 0) > first.lit + 100);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-console.png'), fullPage: true });
    await context.close();

    assert.equal((await api(`compute/v2.1/servers/${id}`, 'DELETE')).status, 204);
    await waitUntil('the server to go', async () => (await api(`compute/v2.1/servers/${id}`)).status === 404);
    assert.equal(await qemuProcessesOf(id), 0);
  });
});
