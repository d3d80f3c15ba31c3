/**
 * Benchmark `config-drive`: a Debian 12 cloud guest with a config drive and no network, on all-in-one
 * with the qemu driver (TCG on this machine; test/helpers/debian-cloud-deployment.ts).
 *   npm run bench -- config-drive [--runs 1]
 * Reports, one server at a time:
 * - `server create --config-drive true --nic none --key-name k1` to cloud-init's final console line after
 *   k1's fingerprint (the key installed from the drive);
 * - `server rebuild --key-name k2` (2.54) of the same server to the same after k2's fingerprint: a stop,
 *   a new root disk and drive, and a first boot again.
 * The console is polled over REST every 3 s. p50 and the runs, in seconds; the load average at the start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cloudInitFingerprint,
  startDebianCloudWithoutNetworks,
  waitForCloudInitAfter,
} from '../test/helpers/debian-cloud-deployment.ts';
import { SSH_KEY_VECTORS } from '../test/helpers/key-vectors.ts';
import { percentile } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[config-drive] ${msg}\n`);
/** A hang fails the run: under TCG on a loaded machine a Debian boot has taken up to 11 minutes. */
const RUN_LIMIT_MS = 25 * 60_000;
const V254 = ['--os-compute-api-version', '2.54'];

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const runs = Number(args['runs'] ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-cdrive-'));
  const cleanup: (() => Promise<void>)[] = [];
  const load = loadavg().map((l) => Number(l.toFixed(1)));
  try {
    const { cli } = await startDebianCloudWithoutNetworks(dir, cleanup);
    await cli.ok('keypair', 'create', 'k1');
    writeFileSync(join(dir, 'k2.pub'), `${SSH_KEY_VECTORS.ed25519.publicKey}\n`);
    await cli.ok('keypair', 'create', '--public-key', join(dir, 'k2.pub'), 'k2');
    const fingerprint = async (name: string) =>
      cloudInitFingerprint(await cli.ok('keypair', 'show', '--public-key', name));
    const [k1, k2] = [await fingerprint('k1'), await fingerprint('k2')];
    const userData = join(dir, 'script.sh');
    writeFileSync(userData, '#!/bin/sh\necho "user data ran as $(id -un)" > /dev/console\n');

    const bootSec: number[] = [];
    const rebuildSec: number[] = [];
    for (let i = 0; i < runs; i++) {
      let started = Date.now();
      const { id } = await cli.json<{ id: string }>(
        ...V254,
        ...['server', 'create', '--image', 'debian-12', '--flavor', 'deb.small', '--key-name', 'k1'],
        ...['--user-data', userData, '--config-drive', 'true', '--nic', 'none', `cd-${i}`],
      );
      await waitForCloudInitAfter(cli, id, k1, RUN_LIMIT_MS);
      bootSec.push((Date.now() - started) / 1000);
      say(`run ${i + 1}: create to cloud-init's end ${bootSec.at(-1)!.toFixed(0)} s`);

      started = Date.now();
      await cli.ok(...V254, 'server', 'rebuild', '--image', 'debian-12', '--key-name', 'k2', id);
      await waitForCloudInitAfter(cli, id, k2, RUN_LIMIT_MS);
      rebuildSec.push((Date.now() - started) / 1000);
      say(`run ${i + 1}: rebuild to cloud-init's end ${rebuildSec.at(-1)!.toFixed(0)} s`);
      await cli.ok('server', 'delete', '--wait', id);
    }
    const figures = (xs: number[]) => ({ p50: percentile(xs, 50, 1), runs: xs.map((x) => Number(x.toFixed(1))) });
    return {
      load_average_at_start: load,
      create_to_cloud_init_end_s: figures(bootSec),
      rebuild_to_cloud_init_end_s: figures(rebuildSec),
    };
  } finally {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
