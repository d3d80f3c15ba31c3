/**
 * Benchmark `ssh-login`: getting into a guest, on all-in-one with the qemu driver (TCG on this machine),
 * an outside world namespace and a private network routed to an external one (test/helpers/
 * debian-cloud-deployment.ts).
 *   npm run bench -- ssh-login [--runs 3] [--demo-runs 3]
 * Reports, one server at a time:
 * - POST /servers of the Debian 12 cloud image (key pair, private network) to the first `ssh -i key
 *   debian@<floating ip> true` from the outside namespace that succeeds (the floating IP is associated as
 *   soon as the server is ACTIVE; ssh is tried again at once after each failure, 5 s connect timeout);
 * - POST /servers of the demo guest on the same network to its console line `stratus-metadata uuid=<id>`,
 *   printed once it read meta_data.json through the host's metadata proxy.
 * Each server is deleted before the next. p50 and the runs, in seconds; the load average at the start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { passwordToken } from '../test/helpers/deployments.ts';
import { createKeyPair, sshFromOutside, startDebianCloud } from '../test/helpers/debian-cloud-deployment.ts';
import { percentile } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[ssh-login] ${msg}\n`);
/** A hang fails the run: under TCG on a loaded machine a Debian boot has taken up to 11 minutes. */
const RUN_LIMIT_MS = 25 * 60_000;

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const runs = Number(args['runs'] ?? 3);
  const demoRuns = Number(args['demo-runs'] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-ssh-'));
  const cleanup: (() => Promise<void>)[] = [];
  const load = loadavg().map((l) => Number(l.toFixed(1)));
  try {
    const { d, world } = await startDebianCloud(dir, cleanup);
    const { cli, env, computeUrl } = d;
    const token = await passwordToken(
      env['OS_AUTH_URL']!,
      env['OS_USERNAME']!,
      env['OS_PASSWORD']!,
      env['OS_PROJECT_NAME']!,
    );
    const headers = { 'x-auth-token': token, 'content-type': 'application/json' };
    const key = await createKeyPair(d, dir, 'benchkey');
    await cli.ok('flavor', 'create', '--id', 'demo', '--vcpus', '1', '--ram', '128', '--disk', '2', 'demo.tiny');
    const network = (await cli.json<{ id: string }>('network', 'show', 'private')).id;
    const image = async (name: string) => (await cli.json<{ id: string }>('image', 'show', name)).id;
    const debian = await image('debian-12');
    const demo = await image('stratus-guest');
    const debianFlavor = (await cli.json<{ id: string }>('flavor', 'show', 'deb.small')).id;

    const post = async (server: Record<string, unknown>): Promise<string> => {
      const r = await fetch(`${computeUrl}/servers`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ server: { networks: [{ uuid: network }], ...server } }),
      });
      if (r.status !== 202) throw new Error(`POST /servers answered ${r.status}: ${await r.text()}`);
      return ((await r.json()) as { server: { id: string } }).server.id;
    };
    const until = async <T>(what: string, started: number, probe: () => Promise<T | false>): Promise<T> => {
      for (;;) {
        const got = await probe();
        if (got !== false) return got;
        if (Date.now() - started > RUN_LIMIT_MS) throw new Error(`no ${what} in ${RUN_LIMIT_MS / 60_000} minutes`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const status = async (id: string) => {
      const r = await fetch(`${computeUrl}/servers/${id}`, { headers });
      const s = ((await r.json()) as { server: { status: string } }).server.status;
      if (s === 'ERROR') throw new Error(`server ${id} went to ERROR`);
      return s;
    };

    const sshSec: number[] = [];
    const floating = (await cli.json<{ floating_ip_address: string }>('floating', 'ip', 'create', 'public'))
      .floating_ip_address;
    for (let i = 0; i < runs; i++) {
      const started = Date.now();
      const id = await post({ name: `ssh-${i}`, flavorRef: debianFlavor, imageRef: debian, key_name: 'benchkey' });
      await until('ACTIVE', started, async () => (await status(id)) === 'ACTIVE');
      await cli.ok('server', 'add', 'floating', 'ip', id, floating);
      await until('SSH login', started, () =>
        sshFromOutside(world, key, floating, 'true').then(
          () => true,
          () => false,
        ),
      );
      sshSec.push((Date.now() - started) / 1000);
      say(`Debian run ${i + 1}: POST to SSH login ${sshSec.at(-1)!.toFixed(0)} s`);
      await cli.ok('server', 'delete', '--wait', id);
    }

    const demoSec: number[] = [];
    for (let i = 0; i < demoRuns; i++) {
      const started = Date.now();
      const id = await post({ name: `demo-${i}`, flavorRef: 'demo', imageRef: demo });
      const line = `stratus-metadata uuid=${id}`;
      await until('metadata line on the console', started, async () => {
        const r = await fetch(`${computeUrl}/servers/${id}/action`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ 'os-getConsoleOutput': {} }),
        });
        return r.status === 200 && ((await r.json()) as { output: string }).output.includes(line);
      });
      demoSec.push((Date.now() - started) / 1000);
      say(`demo run ${i + 1}: POST to its metadata on the console ${demoSec.at(-1)!.toFixed(1)} s`);
      await cli.ok('server', 'delete', '--wait', id);
    }
    // `--runs 0` or `--demo-runs 0` leaves that half out.
    const figures = (xs: number[]) =>
      xs.length ? { p50: percentile(xs, 50, 1), runs: xs.map((x) => Number(x.toFixed(1))) } : null;
    return {
      load_average_at_start: load,
      debian_post_to_ssh_login_s: figures(sshSec),
      demo_post_to_metadata_printed_s: figures(demoSec),
    };
  } finally {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
