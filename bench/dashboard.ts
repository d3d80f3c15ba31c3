/**
 * The dashboard's servers page with many servers, in headless Debian chromium: how long from opening the
 * page (logged in) until the first frame with every row is painted, and how long a click then takes to be
 * handled and painted (Launch server expands). The APIs are stand-ins answering the page's requests with `--servers` synthetic servers, so this
 * measures the page, not the cloud. The built page is the one `npm run build` makes.
 *
 *   npm run bench -- dashboard [--servers 1000] [--runs 5]
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { createDashboardServer, type DashboardApis } from '../src/api/dashboard/dashboard-server.ts';
import { packageRoot } from '../src/common/package-root.ts';
import { launchChromium } from '../test/helpers/chromium.ts';
import { percentile } from './stats.ts';

const PROJECT = { id: 'p'.repeat(32), name: 'bench' };

function server(i: number) {
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  return {
    id,
    name: `server-${String(i).padStart(5, '0')}`,
    status: i % 7 === 0 ? 'SHUTOFF' : 'ACTIVE',
    updated: '2026-12-07T00:00:00Z',
    addresses: { private: [{ addr: `10.0.${Math.floor(i / 250)}.${(i % 250) + 2}`, version: 4 }] },
    flavor: { original_name: 'm1.tiny', vcpus: 1, ram: 512, disk: 1 },
    'OS-EXT-STS:task_state': null,
    'STRATUS-EXT-STORAGE:tier': i % 2 ? 'ssd' : 'hdd',
  };
}

/** Stand-ins for the four APIs: only what the servers page asks. */
async function standInApis(count: number): Promise<DashboardApis> {
  const servers = Array.from({ length: count }, (_, i) => server(i));
  const compute = Fastify();
  compute.get('/v2.1/servers/detail', async (request) =>
    (request.query as Record<string, string>)['changes-since'] ? { servers: [] } : { servers },
  );
  const apis = { identity: Fastify(), compute, image: Fastify(), network: Fastify() };
  await Promise.all(Object.values(apis).map((app) => app.ready()));
  return apis as unknown as DashboardApis;
}

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const count = Number(args['servers'] ?? 1000);
  const runs = Number(args['runs'] ?? 5);
  const script = (await import(`${packageRoot()}/scripts/build.mjs`)) as {
    ensureDashboardBuilt(): Promise<string>;
  };
  const dir = await script.ensureDashboardBuilt();
  const apis = await standInApis(count);
  const http = createDashboardServer({ apis, files: { dir } });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/#/servers`;
  const browser = await launchChromium();
  const session = {
    token: 'bench',
    unscopedToken: 'bench',
    expiresAt: '2099-01-01T00:00:00Z',
    user: { id: 'u', name: 'bench', domain: 'Default' },
    project: PROJECT,
    roles: ['member'],
    projects: [PROJECT],
  };
  const render: number[] = [];
  const click: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      // CSP bypassed for the measuring scripts only (playwright evaluates strings).
      const context = await browser.newContext({ bypassCSP: true });
      await context.addInitScript(
        `sessionStorage.setItem('stratus.session', ${JSON.stringify(JSON.stringify(session))})`,
      );
      // Timed inside the page (performance.now() counts from the navigation's start), so that the browser's
      // own time is measured, not the round trips of the driver on a loaded machine: the first frame
      // painted with every row, and a click's handling until the next frame.
      await context.addInitScript(`
        new MutationObserver((_, observer) => {
          if (document.querySelectorAll('tr[data-server]').length < ${count}) return;
          observer.disconnect();
          requestAnimationFrame(() => { window.benchDrawnAt = performance.now(); });
        }).observe(document, { childList: true, subtree: true });`);
      const page = await context.newPage();
      page.on('pageerror', (err) => process.stderr.write(`page error: ${err.message}\n`));
      await page.goto(url);
      await page.waitForFunction('window.benchDrawnAt !== undefined', undefined, { timeout: 120_000 });
      const drawn = (await page.evaluate('window.benchDrawnAt')) as number;
      const answered = (await page.evaluate(`new Promise((resolve) => {
        const button = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Launch server');
        const start = performance.now();
        // React applies a click's update in a microtask: the frame after it shows the result.
        const painted = () => button.getAttribute('aria-expanded') === 'true'
          ? resolve(performance.now() - start)
          : requestAnimationFrame(painted);
        button.click();
        requestAnimationFrame(painted);
      })`)) as number;
      render.push(drawn);
      click.push(answered);
      process.stderr.write(
        `run ${i + 1}: drawn at ${drawn.toFixed(0)} ms, click answered in ${answered.toFixed(0)} ms\n`,
      );
      await context.close();
    }
  } finally {
    await browser.close();
    await new Promise((resolve) => http.close(resolve));
    await Promise.all(Object.values(apis).map((app) => app.close()));
  }
  const figures = (values: number[]) => ({ p50: percentile(values, 50, 0), max: Math.round(Math.max(...values)) });
  return { servers: count, runs, render_ms: figures(render), click_ms: figures(click) };
}
