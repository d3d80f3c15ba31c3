/**
 * The demo guest's CGI probes (scripts/guest-image/probe), asked over HTTP from a network namespace that
 * reaches the guest (a datapath namespace, where the host holds its subnet's gateway address): they tell
 * a test what the guest itself reaches.
 */
import { strict as assert } from 'node:assert';
import { inNs } from './outside-world.ts';

/** An HTTP GET from `ns`: the body, or null when nothing answered within `seconds`. */
export async function httpGet(ns: string, url: string, seconds = 5): Promise<string | null> {
  // curl: busybox-static's wget crashes on some failures inside a namespace.
  return inNs(ns, ['curl', '-sf', '-m', String(seconds), url], (seconds + 15) * 1000).catch(() => null);
}

/** Whether one ping from namespace `ns` to `address` is answered. */
export async function pings(ns: string, address: string): Promise<boolean> {
  return inNs(ns, ['busybox', 'ping', '-c', '1', '-W', '1', address]).then(
    () => true,
    () => false,
  );
}

/**
 * Asks the guest at `guest` (from namespace `ns`) to run `probe` with `query` (`target` unless given):
 * whether it reached `target`. The guest must answer: a probe that got no answer fails the test.
 */
export async function guestReaches(
  ns: string,
  guest: string,
  probe: 'ping' | 'fetch' | 'spoof-ping',
  target: string,
  query = target,
): Promise<boolean> {
  // A probe takes seconds (its pings wait for answers), more in a guest emulated on a busy machine.
  const body = await httpGet(ns, `http://${guest}/cgi-bin/${probe}?${query}`, 30);
  assert.ok(body !== null, `guest ${guest} did not answer its probe`);
  return body.trim() === `reachable ${target}`;
}
