/**
 * Debian's chromium (/usr/bin/chromium, installed by scripts/ensure-services.sh) driven by playwright-core,
 * as these machines run it: headless, no GPU, no sandbox (tests run as root), and no calls home, which a
 * closed network refuses many at a time. playwright-core gives it a fresh profile directory
 * (--user-data-dir) of its own, removed at close; it never downloads a browser.
 */
import { chromium, type Browser } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
