/**
 * What a user does on every OpenStack cloud, with the real `openstack` CLI on all-in-one and a real
 * Debian 12 cloud guest (scripts/build-debian-cloud-image.sh) under the qemu driver: upload the image,
 * create a key pair (private key saved), boot the image with the key and cloud-config user data on a
 * private network routed to an external one, give it a floating IP, open port 22, and log in with
 * `ssh -i key debian@<floating ip>` from a network namespace standing for the outside world. The login
 * works, the hostname is the server's name, and the user data ran. The server has a config drive
 * (`--config-drive true`): cloud-init takes the key and the user data from it (its console names the
 * ConfigDrive datasource), the way a guest with no network to the metadata service would. The OpenStack
 * datasource's network path (the host's metadata proxy) is what the demo guest and the check below read.
 *
 * Inside the guest, the metadata service's meta_data.json at 169.254.169.254 has the server's
 * `--property` and the key pair's public key. The image has hw_qemu_guest_agent=yes: the QEMU guest agent
 * runs in the guest, and `server set --password` changes root's password hash in /etc/shadow through it.
 *
 * The guest also shows the image boots through its kernel, systemd and cloud-init's final stage. One
 * guest only: a full distribution under TCG takes minutes to boot.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Deployment } from '../helpers/deployments.ts';
import { CLOUD_INIT_FINISHED, DEBIAN_BOOT_WAIT_MS } from '../helpers/debian-cloud-image.ts';
import { createKeyPair, sshFromOutside, startDebianCloud } from '../helpers/debian-cloud-deployment.ts';
import type { OutsideWorld } from '../helpers/outside-world.ts';
import { waitUntil } from '../helpers/processes.ts';

/** What the user data's cloud-config writes, read back over SSH. */
const USER_DATA_FILE = '/var/tmp/stratus-user-data';
const USER_DATA_TEXT = 'written by cloud-init from the user data';

/** meta_data.json from the metadata service, as the guest reads it (the image has python3, no curl). */
const READ_METADATA =
  'python3 -c "import urllib.request as u; ' +
  "print(u.urlopen('http://169.254.169.254/openstack/latest/meta_data.json', timeout=30).read().decode())\"";

/** Root's password hash field in /etc/shadow. */
const ROOT_HASH = 'sudo getent shadow root | cut -d: -f2';

describe('openstack CLI: SSH into a Debian cloud guest through its floating IP', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let world: OutsideWorld;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-ssh-'));
    ({ d, world } = await startDebianCloud(dir, cleanup, { imageProperties: { hw_qemu_guest_agent: 'yes' } }));
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  // The guest's boot is TCG's: on a loaded machine it takes more than the suite's default ten minutes.
  const timeout = DEBIAN_BOOT_WAIT_MS + 5 * 60_000;
  it(
    'logs in with the key pair; the guest has its name, user data, metadata and agent-set password',
    { timeout },
    async (t) => {
      const { cli } = d;
      const key = await createKeyPair(d, dir, 'debkey');
      const userData = join(dir, 'user-data.yaml');
      writeFileSync(
        userData,
        ['#cloud-config', 'write_files:', `  - path: ${USER_DATA_FILE}`, `    content: ${USER_DATA_TEXT}`, ''].join(
          '\n',
        ),
      );

      const posted = Date.now();
      const server = await cli.json<{ id: string }>(
        ...['server', 'create', '--image', 'debian-12', '--flavor', 'deb.small', '--key-name', 'debkey'],
        ...['--user-data', userData, '--property', 'role=web', '--config-drive', 'true'],
        ...['--network', 'private', 'deb-vm'],
      );
      const floating = (await cli.json<{ floating_ip_address: string }>('floating', 'ip', 'create', 'public'))
        .floating_ip_address;
      await waitUntil(
        'the server to be ACTIVE',
        async () => (await cli.json<{ status: string }>('server', 'show', server.id)).status === 'ACTIVE',
        DEBIAN_BOOT_WAIT_MS,
      );
      await cli.ok('server', 'add', 'floating', 'ip', server.id, floating);

      const ssh = (command: string) => sshFromOutside(world, key, floating, command);
      // cloud-init installs the key before sshd takes logins, and restarts sshd once more in a later stage
      // (a run saw the second command refused): the whole command is tried until it gets through.
      const answer = await waitUntil(
        'an SSH login through the floating IP',
        () =>
          ssh(`hostname; cat ${USER_DATA_FILE}; echo; sudo cloud-init query v1.instance_id`).then(
            (out) => out,
            () => false,
          ),
        DEBIAN_BOOT_WAIT_MS,
      );
      const loginMs = Date.now() - posted;

      const [hostname, written, instanceId] = String(answer).trim().split('\n');
      assert.equal(hostname, 'deb-vm');
      assert.equal(written, USER_DATA_TEXT);
      assert.equal(instanceId, server.id, 'cloud-init read the metadata of this instance');

      const console = await waitUntil(
        'cloud-init to finish on the console',
        async () => {
          const text = await cli.ok('console', 'log', 'show', server.id);
          return CLOUD_INIT_FINISHED.test(text) && text;
        },
        DEBIAN_BOOT_WAIT_MS,
      );
      assert.match(console, /Debian GNU\/Linux 12 \(bookworm\)/);
      assert.match(console, /Cloud-init v\. \S+ running 'modules:final'/);
      assert.match(console, /Datasource DataSourceConfigDrive/, 'cloud-init read the config drive');
      t.diagnostic(`POST to SSH login on the Debian cloud image: ${Math.round(loginMs / 1000)} s`);

      // The metadata service tells the guest its --property and its key (`keypair show --public-key`
      // prints the key itself, not its fingerprint).
      const metadata = JSON.parse(await ssh(READ_METADATA)) as {
        uuid: string;
        meta: Record<string, string>;
        public_keys: Record<string, string>;
      };
      assert.equal(metadata.uuid, server.id);
      assert.deepEqual(metadata.meta, { role: 'web' });
      const publicKey = (await cli.ok('keypair', 'show', '--public-key', 'debkey')).trim();
      assert.deepEqual(Object.keys(metadata.public_keys), ['debkey']);
      assert.equal(metadata.public_keys['debkey']!.trim(), publicKey);

      // systemd starts the agent when its virtio port appears; `server set --password` goes through it.
      assert.equal((await ssh('systemctl is-active qemu-guest-agent')).trim(), 'active');
      const hashBefore = (await ssh(ROOT_HASH)).trim();
      await cli.ok('server', 'set', '--password', 'Stratus-pw-2026', server.id);
      const hashAfter = (await ssh(ROOT_HASH)).trim();
      assert.notEqual(hashAfter, hashBefore, "root's password hash changed");
      assert.match(hashAfter, /^\$[^$]+\$/, 'a crypt(3) hash, not a locked or empty password');
      const actions = await cli.json<{ Action: string }[]>('server', 'event', 'list', server.id);
      assert.ok(actions.some((a) => a.Action === 'changePassword'));

      await cli.ok('server', 'delete', '--wait', server.id);
    },
  );
});
