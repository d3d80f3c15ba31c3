/** The dashboard in Debian's chromium, for the e2e tests: logging in as a person does. */
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** State changes show within two seconds; the rest is a loaded machine's slack. */
export const DASHBOARD_WAIT_MS = 20_000;

/**
 * A new browser context (its own sessionStorage) on the dashboard at `url`, logged in as `user` of the
 * Default domain. `bypassCSP` only lets a test inject axe-core's script; the page's own code needs none.
 */
export async function logInToDashboard(
  browser: Browser,
  url: string,
  user: string,
  password: string,
  options: { bypassCSP?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ acceptDownloads: true, ...options });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByLabel('Domain').fill('Default');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /^(Servers|Overview)$/ }).waitFor({ timeout: DASHBOARD_WAIT_MS });
  return { context, page };
}
