/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core, against all-in-one with
 * the fake driver (one deployment for the whole file). A member of a project logs in, launches a server
 * on the ssd tier and watches it turn ACTIVE without a reload, stops, starts and deletes it, uploads an
 * image, makes a key pair (its private key downloaded) and sees the API's own words for a refused one;
 * the admin pages are not theirs, nor another project's servers. A member launches into a chosen security
 * group, pauses, unpauses and locks a server on its page. An admin disables a compute service and
 * sees it, creates and deletes a flavor, and sees zones, role assignments, every project's servers and
 * usage per project, and a capacity bar per storage tier on each hypervisor. An accessibility check
 * (axe-core) finds no serious or critical violation on each page visited.
 *
 * DASHBOARD_SCREENSHOTS=1 also writes the pages' pictures to docs/images/ (for the docs, not on every run).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { packageRoot } from '../../src/common/package-root.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { DASHBOARD_WAIT_MS, logInToDashboard } from '../helpers/dashboard-browser.ts';
import { passwordToken, startAllInOne, type Deployment } from '../helpers/deployments.ts';

const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SCREENSHOTS = process.env['DASHBOARD_SCREENSHOTS'] ? join(packageRoot(), 'docs', 'images') : null;
const WAIT_MS = DASHBOARD_WAIT_MS;

describe('dashboard in chromium', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let browser: Browser;
  const axeFindings: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-dashboard-'));
    [d, browser] = await Promise.all([
      startAllInOne(dir, cleanup, { lines: ['[fake_driver]', 'storage_pools = hdd:500,ssd:100', '[DEFAULT]'] }),
      launchChromium(),
    ]);
    cleanup.unshift(() => browser.close());
    await seedCloud();
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  let adminToken = '';
  /** The admin's REST call to `path` under the dashboard's relay (`compute/v2.1/servers`, ...). */
  async function api<T>(path: string, method = 'GET', body?: unknown, type = 'application/json'): Promise<T> {
    const response = await fetch(`${d.dashboardUrl}api/${path}`, {
      method,
      headers: { 'x-auth-token': adminToken, 'content-type': type },
      body: body === undefined ? undefined : body instanceof Buffer ? body : JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  /**
   * What the test's users need, set up through the dashboard's API relay (plain REST, much faster than a
   * CLI process per step on a loaded machine): a public image, a flavor, and alice, a member of dash-project.
   */
  async function seedCloud(): Promise<void> {
    adminToken = await passwordToken(`${d.dashboardUrl}api/identity/v3`, 'admin', 'secret', 'admin');
    const image = await api<{ id: string }>('image/v2/images', 'POST', {
      name: 'dash-image',
      disk_format: 'raw',
      container_format: 'bare',
      visibility: 'public',
    });
    await api(`image/v2/images/${image.id}/file`, 'PUT', Buffer.alloc(1 << 16, 7), 'application/octet-stream');
    await api('compute/v2.1/flavors', 'POST', { flavor: { name: 'dash.tiny', vcpus: 1, ram: 128, disk: 1 } });
    const project = await api<{ project: { id: string } }>('identity/v3/projects', 'POST', {
      project: { name: 'dash-project', domain_id: 'default' },
    });
    const user = await api<{ user: { id: string } }>('identity/v3/users', 'POST', {
      user: { name: 'alice', password: 'alice-pw', domain_id: 'default' },
    });
    const { roles } = await api<{ roles: { id: string }[] }>('identity/v3/roles?name=member');
    const grant = `identity/v3/projects/${project.project.id}/users/${user.user.id}/roles/${roles[0]!.id}`;
    await api(grant, 'PUT');
    // A second security group in alice's project, for the launch form to choose.
    await api('network/v2.0/security-groups', 'POST', {
      security_group: { name: 'web', project_id: project.project.id },
    });
    // A server of the admin project, which alice must not see.
    const flavors = await api<{ flavors: { id: string; name: string }[] }>('compute/v2.1/flavors');
    const theirs = await api<{ server: { id: string } }>('compute/v2.1/servers', 'POST', {
      server: {
        name: 'admins-server',
        imageRef: image.id,
        flavorRef: flavors.flavors.find((f) => f.name === 'dash.tiny')!.id,
      },
    });
    adminServerId = theirs.server.id;
  }
  let adminServerId = '';

  const logIn = (user: string, password: string, options: { bypassCSP?: boolean } = {}) =>
    logInToDashboard(browser, d.dashboardUrl, user, password, options);

  /** axe-core's serious and critical findings on the page as it is, collected for one assertion at the end. */
  async function checkAccessibility(page: Page, name: string): Promise<void> {
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}.png`), fullPage: true });
    await page.addScriptTag({ path: AXE_SCRIPT });
    const violations = (await page.evaluate(
      'axe.run(document, { resultTypes: ["violations"] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" ")) })))',
    )) as { id: string; impact: string; nodes: string[] }[];
    for (const v of violations.filter((x) => x.impact === 'serious' || x.impact === 'critical')) {
      axeFindings.push(`${name}: ${v.id} (${v.impact}) at ${v.nodes.join(', ')}`);
    }
  }

  const row = (page: Page, name: string) => page.locator(`tr[data-server="${name}"]`);
  const waitStatus = (page: Page, name: string, status: string) =>
    row(page, name)
      .locator('td.status', { hasText: new RegExp(`^${status}$`) })
      .waitFor({ timeout: WAIT_MS });

  it('a member launches a server on the ssd tier and stops, starts and deletes it, the list updating itself', async () => {
    // CSP bypassed only so that the test can inject axe-core's script; the page's own code needs no bypass.
    const { context, page } = await logIn('alice', 'alice-pw', { bypassCSP: true });
    await page.evaluate('window.notReloaded = true');
    await page.getByRole('button', { name: 'Launch server' }).click();
    const form = page.getByRole('form', { name: 'Launch server' });
    await form.getByLabel('Name').fill('web-1');
    await form.getByLabel('Image').selectOption({ label: 'dash-image' });
    await form.getByLabel('Flavor').selectOption({ label: 'dash.tiny' });
    await form.getByLabel('Storage tier').selectOption('ssd');
    await checkAccessibility(page, 'launch');
    await form.getByRole('button', { name: 'Launch' }).click();

    await waitStatus(page, 'web-1', 'ACTIVE');
    assert.equal(await row(page, 'web-1').locator('td').nth(4).textContent(), 'ssd');
    assert.equal(await row(page, 'admins-server').count(), 0, "another project's server is not listed");
    await checkAccessibility(page, 'servers');

    await row(page, 'web-1').getByRole('button', { name: 'Stop' }).click();
    await waitStatus(page, 'web-1', 'SHUTOFF');
    await row(page, 'web-1').getByRole('button', { name: 'Start' }).click();
    await waitStatus(page, 'web-1', 'ACTIVE');

    await row(page, 'web-1').getByRole('link', { name: 'web-1' }).click();
    await page.getByRole('heading', { name: 'Server web-1' }).waitFor({ timeout: WAIT_MS });
    await page.getByRole('table', { name: 'Instance actions' }).getByRole('cell', { name: 'start' }).waitFor();
    await checkAccessibility(page, 'server-detail');
    await page.getByRole('button', { name: 'Back to servers' }).click();

    await row(page, 'web-1').getByRole('button', { name: 'Delete' }).click();
    await row(page, 'web-1').getByRole('button', { name: 'Yes, delete' }).click();
    await row(page, 'web-1').waitFor({ state: 'detached', timeout: WAIT_MS });
    const left = await api<{ servers: { name: string }[] }>('compute/v2.1/servers?all_tenants=1');
    assert.deepEqual(
      left.servers.map((x) => x.name),
      ['admins-server'],
    );

    // Quota usage drawn as charts; another project's server cannot be opened by its address either.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('img', { name: /^Servers: 0 used of (10|no limit)$/ }).waitFor({ timeout: WAIT_MS });
    await checkAccessibility(page, 'overview');
    await page.goto(`${d.dashboardUrl}#/servers/${adminServerId}`);
    await page
      .getByRole('alert')
      .filter({ hasText: /could not be found/ })
      .first()
      .waitFor({ timeout: WAIT_MS });
    assert.equal(await page.evaluate('window.notReloaded'), true, 'all of it without a reload');
    await context.close();
  });

  it('a member launches into a chosen security group, then pauses, unpauses and locks it on its page', async () => {
    const { context, page } = await logIn('alice', 'alice-pw', { bypassCSP: true });
    await page.getByRole('button', { name: 'Launch server' }).click();
    const form = page.getByRole('form', { name: 'Launch server' });
    await form.getByLabel('Name').fill('web-2');
    await form.getByLabel('Image').selectOption({ label: 'dash-image' });
    await form.getByLabel('Flavor').selectOption({ label: 'dash.tiny' });
    const groups = form.getByLabel('Security groups');
    assert.deepEqual(await groups.locator('option:checked').allTextContents(), ['default']);
    await groups.selectOption(['default', 'web']);
    const [create] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/compute/v2.1/servers')),
      form.getByRole('button', { name: 'Launch' }).click(),
    ]);
    assert.deepEqual((create.postDataJSON() as { server: { security_groups: unknown } }).server.security_groups, [
      { name: 'default' },
      { name: 'web' },
    ]);
    await waitStatus(page, 'web-2', 'ACTIVE');
    const { servers } = await api<{ servers: { id: string }[] }>('compute/v2.1/servers?all_tenants=1&name=web-2');
    const id = servers[0]!.id;

    await row(page, 'web-2').getByRole('link', { name: 'web-2' }).click();
    const actions = page.getByRole('group', { name: 'Actions on web-2' });
    const status = (value: string) =>
      page.locator('dd.status', { hasText: new RegExp(`^${value}$`) }).waitFor({ timeout: WAIT_MS });
    await actions.getByRole('button', { name: 'Pause' }).click();
    await status('PAUSED');
    assert.equal(await actions.getByRole('button', { name: 'Stop' }).count(), 0, 'no stop for a paused server');
    await actions.getByRole('button', { name: 'Unpause' }).click();
    await status('ACTIVE');
    await actions.getByRole('button', { name: 'Lock', exact: true }).click();
    await actions.getByRole('button', { name: 'Unlock' }).waitFor({ timeout: WAIT_MS });
    // Resize asks for a flavor first, behind a warning.
    await actions.getByRole('button', { name: 'Resize' }).click();
    const newFlavor = actions.getByRole('form', { name: 'Resize' }).getByLabel('New flavor');
    await newFlavor.locator('option').first().waitFor({ state: 'attached', timeout: WAIT_MS });
    assert.ok(!(await newFlavor.locator('option').allTextContents()).includes('dash.tiny'), 'not its own flavor');
    await checkAccessibility(page, 'server-actions');
    await actions.getByRole('button', { name: 'Cancel' }).click();
    await actions.getByRole('button', { name: 'Unlock' }).click();
    await actions.getByRole('button', { name: 'Lock', exact: true }).waitFor({ timeout: WAIT_MS });
    await api(`compute/v2.1/servers/${id}`, 'DELETE');
    await context.close();
  });

  it('a member uploads an image with progress and makes key pairs; a refused one shows the API words', async () => {
    const { context, page } = await logIn('alice', 'alice-pw', { bypassCSP: true });
    await page.getByRole('link', { name: 'Images' }).click();
    const upload = page.getByRole('form', { name: 'Upload an image' });
    await upload.getByLabel('Image name').fill('uploaded');
    await upload.getByLabel('File').setInputFiles({
      name: 'disk.raw',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(3 << 20, 1),
    });
    await upload.getByRole('button', { name: 'Upload' }).click();
    await page.locator('tr[data-image="uploaded"] td', { hasText: /^active$/ }).waitFor({ timeout: WAIT_MS });
    assert.equal(await upload.getByRole('progressbar').getAttribute('value'), '1');
    await checkAccessibility(page, 'images');

    await page.getByRole('link', { name: 'Key pairs' }).click();
    const keys = page.getByRole('form', { name: 'Create or import a key pair' });
    await keys.getByLabel('Key pair name').fill('k1');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      keys.getByRole('button', { name: 'Create key pair' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'k1.pem');
    const pem = await download.createReadStream().then(async (stream) => {
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString();
    });
    assert.match(pem, /^-----BEGIN RSA PRIVATE KEY-----/);
    await page.getByRole('table', { name: 'Key pairs' }).getByRole('cell', { name: 'k1', exact: true }).waitFor();

    // The same name again: the compute API's 409, word for word.
    await keys.getByLabel('Key pair name').fill('k1');
    await keys.getByRole('button', { name: 'Create key pair' }).click();
    assert.equal(await keys.getByRole('alert').textContent(), "Key pair 'k1' already exists.");
    await checkAccessibility(page, 'keypairs');

    // No admin pages for a member: not in the navigation, refused when asked for by address.
    for (const name of ['Hypervisors', 'Flavors', 'All servers', 'Usage', 'Projects and users']) {
      assert.equal(await page.getByRole('link', { name }).count(), 0, `no ${name} link`);
    }
    await page.goto(`${d.dashboardUrl}#/admin/servers`);
    await page.getByText('The admin pages need the admin role').waitFor();
    await page.goto(`${d.dashboardUrl}#/admin/services`);
    await page.getByText('The admin pages need the admin role').waitFor();
    await context.close();
  });

  it('an admin disables a compute service and sees it, and sees the hypervisors', async () => {
    const { context, page } = await logIn('admin', 'secret', { bypassCSP: true });
    await page.getByRole('link', { name: 'Hypervisors' }).click();
    await page.getByRole('meter', { name: 'vCPUs' }).first().waitFor();
    // The fake driver's pools (hdd:500,ssd:100), one bar per tier.
    const ssd = page.getByRole('meter', { name: 'Storage tier ssd' });
    await ssd.waitFor({ timeout: WAIT_MS });
    assert.equal(await ssd.getAttribute('aria-valuemax'), '100');
    assert.equal(await page.getByRole('meter', { name: 'Storage tier hdd' }).getAttribute('aria-valuemax'), '500');
    await checkAccessibility(page, 'hypervisors');
    await page.getByRole('link', { name: 'Compute services' }).click();
    const compute = page.locator(
      'tr[data-service="stratus-compute@controller"], tr[data-service="nova-compute@controller"]',
    );
    await compute.getByRole('button', { name: 'Disable controller' }).click();
    await compute.getByRole('cell', { name: /^disabled/ }).waitFor({ timeout: WAIT_MS });
    const { services } = await api<{ services: { binary: string; status: string }[] }>('compute/v2.1/os-services');
    assert.equal(services.find((s) => s.binary.endsWith('compute'))?.status, 'disabled');
    await checkAccessibility(page, 'services');
    await compute.getByRole('button', { name: 'Enable controller' }).click();
    await compute.getByRole('cell', { name: /^enabled/ }).waitFor({ timeout: WAIT_MS });

    await page.getByRole('link', { name: 'Flavors' }).click();
    const flavorForm = page.getByRole('form', { name: 'Create a flavor' });
    await flavorForm.getByLabel('Flavor name').fill('dash.made');
    await flavorForm.getByRole('button', { name: 'Create flavor' }).click();
    const made = page.locator('tr[data-flavor="dash.made"]');
    await made.waitFor({ timeout: WAIT_MS });
    await checkAccessibility(page, 'flavors');
    await made.getByRole('button', { name: 'Delete' }).click();
    await made.getByRole('button', { name: 'Yes, delete' }).click();
    await made.waitFor({ state: 'detached', timeout: WAIT_MS });

    await page.getByRole('link', { name: 'Aggregates and zones' }).click();
    await page.getByRole('table', { name: 'Availability zones' }).getByRole('cell', { name: 'nova' }).waitFor();
    await checkAccessibility(page, 'aggregates');
    await page.getByRole('link', { name: 'Projects and users' }).click();
    const assignments = page.getByRole('table', { name: 'Role assignments' });
    await assignments.getByRole('row', { name: /alice member project dash-project/ }).waitFor({ timeout: WAIT_MS });
    await checkAccessibility(page, 'identity');
    await page.getByRole('link', { name: 'All servers' }).click();
    await page.locator('tr[data-server="admins-server"]').getByRole('cell', { name: 'admin', exact: true }).waitFor();
    await checkAccessibility(page, 'all-servers');
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('article', { name: 'Usage of admin' }).waitFor({ timeout: WAIT_MS });
    await checkAccessibility(page, 'usage');
    await context.close();
  });

  it('axe-core finds no serious or critical accessibility violation on the pages visited', () => {
    assert.deepEqual(axeFindings, []);
  });
});
