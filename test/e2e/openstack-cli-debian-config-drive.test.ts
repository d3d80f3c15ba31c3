/**
 * A Debian 12 cloud guest (scripts/build-debian-cloud-image.sh) with a config drive and no network at all
 * (`--nic none`), through the real `openstack` CLI on all-in-one with the qemu driver: everything cloud-init
 * knows comes from the drive, and its console log shows it. cloud-init names the ConfigDrive datasource,
 * the user data's script ran (it writes a line of its own to the console, and the key names it read from
 * the drive's meta_data.json), and the key pair is installed for the image's user `debian`: cloud-init's
 * ssh_authkey_fingerprints module (in Debian 12's cloud.cfg final stage, once per instance) prints the
 * SHA-256 of every key in ~debian/.ssh/authorized_keys, hex pairs joined by colons, which the test
 * computes from the key pair's public key.
 *
 * Then `server rebuild --key-name k2` (2.54): the root disk is made anew from the image and the config
 * drive written again, so the guest boots as a new one and cloud-init installs k2 only. The console log
 * is appended across boots; the second boot's part shows k2's fingerprint and not k1's, and the drive it
 * read names k2. Two boots of a full distribution under TCG: minutes each.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  cloudInitFingerprint,
  startDebianCloudWithoutNetworks,
  waitForCloudInitAfter,
} from '../helpers/debian-cloud-deployment.ts';
import { DEBIAN_BOOT_WAIT_MS } from '../helpers/debian-cloud-image.ts';
import { waitStatus, type Deployment } from '../helpers/deployments.ts';
import { SSH_KEY_VECTORS } from '../helpers/key-vectors.ts';

/** Key names at 2.54: `--nic none` needs 2.37, a rebuild's key name 2.54. */
const V254 = ['--os-compute-api-version', '2.54'];

/**
 * The user data: a shell script that cloud-init's scripts_user runs as root in its final stage. It writes
 * to /dev/console (the serial port, which the console log records) a line the script's own text does not
 * contain (the user comes from `id`), then the key names of the meta_data.json on the config drive.
 */
function userDataScript(token: string): string {
  return [
    '#!/bin/sh',
    'exec > /dev/console 2>&1',
    `echo "user-data-${token} ran as $(id -un)"`,
    'mkdir -p /run/stratus-cd',
    'mount -o ro /dev/disk/by-label/config-2 /run/stratus-cd',
    'python3 -c \'import json; m = json.load(open("/run/stratus-cd/openstack/latest/meta_data.json")); ' +
      `print("config-drive-keys-${token}", ",".join(sorted(m["public_keys"])))'`,
    'umount /run/stratus-cd',
    '',
  ].join('\n');
}

/**
 * The part of a console log from the last boot's first cloud-init stage on. The log is appended across
 * boots, and the API answers its last 100 KiB (as Nova's libvirt driver does): a boot of this image
 * prints about 85 KiB, two thirds of it the kernel's, so the kernel's banner of the last boot may already
 * be cut off the front; everything asserted is cloud-init's, which comes after.
 */
function lastBoot(text: string): string {
  const starts = [...text.matchAll(/Cloud-init v\. \S+ running 'init-local'/g)];
  assert.ok(starts.length > 0, "the console log holds cloud-init's first stage");
  return text.slice(starts[starts.length - 1]!.index);
}

describe('openstack CLI: a Debian cloud guest with a config drive and no network', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-cdrive-'));
    d = await startDebianCloudWithoutNetworks(dir, cleanup);
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  // Two boots of the Debian image under TCG, each bounded by the boot wait.
  const timeout = 2 * DEBIAN_BOOT_WAIT_MS + 5 * 60_000;
  it(
    'cloud-init takes the key and user data from the drive; a rebuild with k2 installs k2 only',
    { timeout },
    async (t) => {
      const { cli } = d;
      await cli.ok('keypair', 'create', 'k1');
      const k2File = join(dir, 'k2.pub');
      writeFileSync(k2File, `${SSH_KEY_VECTORS.ed25519.publicKey}\n`);
      await cli.ok('keypair', 'create', '--public-key', k2File, 'k2');
      const publicKey = async (name: string) => (await cli.ok('keypair', 'show', '--public-key', name)).trim();
      const k1 = cloudInitFingerprint(await publicKey('k1'));
      const k2 = cloudInitFingerprint(await publicKey('k2'));
      const token = randomBytes(6).toString('hex');
      const userData = join(dir, 'script.sh');
      writeFileSync(userData, userDataScript(token));
      const ran = `user-data-${token} ran as root`;
      const driveKeys = `config-drive-keys-${token}`;

      const server = await cli.json<{ id: string }>(
        ...V254,
        ...['server', 'create', '--image', 'debian-12', '--flavor', 'deb.small', '--key-name', 'k1'],
        ...['--user-data', userData, '--config-drive', 'true', '--nic', 'none', 'deb-cd'],
      );
      await waitStatus(cli, server.id, 'ACTIVE', DEBIAN_BOOT_WAIT_MS);

      const booted = Date.now();
      await waitForCloudInitAfter(cli, server.id, k1);
      t.diagnostic(`first boot, ACTIVE to cloud-init's end: ${Math.round((Date.now() - booted) / 1000)} s`);
      const first = lastBoot(await cli.ok('console', 'log', 'show', server.id));
      assert.match(first, /Datasource DataSourceConfigDrive \[[^\n]*source=\/dev\/sr0\]/, 'cloud-init read the drive');
      assert.ok(first.includes(ran), 'the user data script ran');
      assert.ok(first.includes(`${driveKeys} k1`), "the drive's meta_data.json has k1");
      assert.match(first, /Authorized keys from \/home\/debian\/\.ssh\/authorized_keys for user debian/);
      assert.ok(first.includes(k1), "k1's fingerprint is among debian's authorized keys");
      assert.ok(!first.includes(k2));

      await cli.ok(...V254, 'server', 'rebuild', '--image', 'debian-12', '--key-name', 'k2', server.id);
      await waitStatus(cli, server.id, 'ACTIVE', DEBIAN_BOOT_WAIT_MS);
      const shown = await cli.json<Record<string, unknown>>(...V254, 'server', 'show', server.id);
      assert.equal(shown['key_name'], 'k2');
      assert.equal(shown['config_drive'], 'True');
      assert.deepEqual(shown['addresses'], {});

      const rebuilt = Date.now();
      // k2 appears on no console before this boot's, so its fingerprint marks the second boot.
      await waitForCloudInitAfter(cli, server.id, k2);
      t.diagnostic(`rebuild, ACTIVE to cloud-init's end: ${Math.round((Date.now() - rebuilt) / 1000)} s`);
      const second = lastBoot(await cli.ok('console', 'log', 'show', server.id));
      assert.match(second, /Datasource DataSourceConfigDrive \[[^\n]*source=\/dev\/sr0\]/);
      assert.ok(second.includes(ran), 'the user data (kept by the rebuild) ran on the new root disk');
      assert.ok(second.includes(`${driveKeys} k2`), "the rebuilt drive's meta_data.json has k2 only");
      assert.match(second, /Authorized keys from \/home\/debian\/\.ssh\/authorized_keys for user debian/);
      assert.ok(second.includes(k2), "k2's fingerprint is among debian's authorized keys");
      assert.ok(!second.includes(k1), 'k1 is gone with the old root disk');

      await cli.ok('server', 'delete', '--wait', server.id);
    },
  );
});
