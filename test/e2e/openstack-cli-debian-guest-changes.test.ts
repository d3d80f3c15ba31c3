/**
 * What a user changes on a running Debian 12 cloud guest reaches it as cloud-init and the guest expect,
 * with the real `openstack` CLI on all-in-one and the qemu driver (one guest: a full distribution under
 * TCG takes minutes to boot):
 * - `server create --property role=web --config-drive true`: inside the guest, meta_data.json's `meta`
 *   and `public_keys` say so, both on the config drive (mounted by its label config-2) and from the
 *   metadata service at 169.254.169.254;
 * - `server set --password` on an image with hw_qemu_guest_agent=yes: the QEMU guest agent in the guest sets
 *   root's password (cloud-init reads no password from the metadata), checked against /etc/shadow;
 * - `server rebuild --key-name` (2.54) with `--property role=db`: the rebuilt guest lets in the new key
 *   only, and both sources show the new key and metadata.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Deployment } from '../helpers/deployments.ts';
import { DEBIAN_BOOT_WAIT_MS } from '../helpers/debian-cloud-image.ts';
import { createKeyPair, sshFromOutside, startDebianCloud } from '../helpers/debian-cloud-deployment.ts';
import type { OutsideWorld } from '../helpers/outside-world.ts';
import { waitUntil } from '../helpers/processes.ts';

/** Prints, as one JSON line, meta_data.json's uuid, meta and public_keys from the drive and the service. */
const READ_METADATA = `sudo python3 - <<'PY'
import json, subprocess, tempfile, urllib.request
pick = lambda d: {k: d.get(k) for k in ('uuid', 'meta', 'public_keys')}
url = 'http://169.254.169.254/openstack/latest/meta_data.json'
service = json.load(urllib.request.urlopen(url, timeout=30))
dev = subprocess.run(['blkid', '-L', 'config-2'], capture_output=True, text=True, check=True).stdout.strip()
mnt = tempfile.mkdtemp()
subprocess.run(['mount', '-o', 'ro', dev, mnt], check=True)
try:
    drive = json.load(open(mnt + '/openstack/latest/meta_data.json'))
finally:
    subprocess.run(['umount', mnt])
print(json.dumps({'service': pick(service), 'drive': pick(drive)}))
PY`;

/** Whether `user`'s password in /etc/shadow is `password` (crypt(3) of it with the stored salt). */
const CHECK_PASSWORD = (user: string, password: string) =>
  `sudo python3 -W ignore -c "import crypt,sys; h=[l.split(':')[1] for l in open('/etc/shadow') ` +
  `if l.startswith(sys.argv[1]+':')][0]; print(crypt.crypt(sys.argv[2], h) == h)" ${user} ${password}`;

interface Seen {
  uuid: string;
  meta: Record<string, string>;
  public_keys: Record<string, string>;
}

describe('openstack CLI: metadata, password and a new key reach a Debian cloud guest', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let world: OutsideWorld;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-debchg-'));
    ({ d, world } = await startDebianCloud(dir, cleanup, {
      imageProperties: { hw_qemu_guest_agent: 'yes' },
      subnet: '192.168.62.0/24',
    }));
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows --property and the key, takes a root password, and a rebuild with a new key', async (t) => {
    const { cli } = d;
    const first = await createKeyPair(d, dir, 'first');
    const second = await createKeyPair(d, dir, 'second');

    const server = await cli.json<{ id: string }>(
      ...['server', 'create', '--image', 'debian-12', '--flavor', 'deb.small', '--key-name', 'first'],
      ...['--property', 'role=web', '--config-drive', 'true', '--network', 'private', 'deb-chg'],
    );
    /** The drive and the service both say: this server, metadata role=`role`, the one key `key`. */
    const assertSeen = async (seen: { service: Seen; drive: Seen }, role: string, key: string) => {
      // `keypair show` shows no key but its fingerprint; --public-key prints the key itself.
      const publicKey = (await cli.ok('keypair', 'show', '--public-key', key)).trim();
      for (const source of ['service', 'drive'] as const) {
        assert.equal(seen[source].uuid, server.id, source);
        assert.deepEqual(seen[source].meta, { role }, source);
        assert.deepEqual(Object.keys(seen[source].public_keys), [key], source);
        assert.equal(seen[source].public_keys[key]!.trim(), publicKey, source);
      }
    };
    const floating = (await cli.json<{ floating_ip_address: string }>('floating', 'ip', 'create', 'public'))
      .floating_ip_address;
    await waitUntil(
      'the server to be ACTIVE',
      async () => (await cli.json<{ status: string }>('server', 'show', server.id)).status === 'ACTIVE',
      DEBIAN_BOOT_WAIT_MS,
    );
    await cli.ok('server', 'add', 'floating', 'ip', server.id, floating);

    // Tried until sshd takes the login with this key and the guest answers (cloud-init restarts sshd);
    // a timeout says what the last attempt got, and where the guest's console had come to.
    const readAs = async (key: string, what: string) => {
      let last = '';
      const out = await waitUntil(
        what,
        () =>
          sshFromOutside(world, key, floating, READ_METADATA).then(
            (stdout) => stdout.trim() || false,
            (err: Error & { stderr?: string }) => {
              last = (err.stderr || err.message).trim();
              return false;
            },
          ),
        DEBIAN_BOOT_WAIT_MS,
        () => `last attempt: ${last}`,
      );
      return JSON.parse(String(out)) as { service: Seen; drive: Seen };
    };

    const before = await readAs(first, 'an SSH login with the first key');
    await assertSeen(before, 'web', 'first');

    // The agent runs in the guest (systemd starts it when its virtio port appears); root's password set.
    const agent = await sshFromOutside(world, first, floating, 'systemctl is-active qemu-guest-agent');
    assert.equal(agent.trim(), 'active');
    const password = 'Stratus-pw-2026';
    assert.equal((await sshFromOutside(world, first, floating, CHECK_PASSWORD('root', password))).trim(), 'False');
    await cli.ok('server', 'set', '--password', password, server.id);
    assert.equal((await sshFromOutside(world, first, floating, CHECK_PASSWORD('root', password))).trim(), 'True');
    const actions = await cli.json<{ Action: string }[]>('server', 'event', 'list', server.id);
    assert.ok(actions.some((a) => a.Action === 'changePassword'));

    await cli.ok(
      ...['--os-compute-api-version', '2.54', 'server', 'rebuild', '--image', 'debian-12'],
      ...['--key-name', 'second', '--property', 'role=db', '--wait', server.id],
    );
    const rebuilt = await readAs(second, 'an SSH login with the second key after the rebuild');
    await assertSeen(rebuilt, 'db', 'second');
    // The rebuilt guest (a new disk from the image) let cloud-init install the new key only.
    await assert.rejects(sshFromOutside(world, first, floating, 'true'));
    t.diagnostic('the agent set the root password; the rebuilt guest took the new key');

    await cli.ok('server', 'delete', '--wait', server.id);
  });
});
