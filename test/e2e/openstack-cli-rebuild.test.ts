/**
 * `openstack server rebuild` through the real CLI on all-in-one with the qemu driver: a running demo
 * guest is rebuilt and boots again (its console marker once more), then rebuilt with a key pair at 2.54
 * (`--os-compute-api-version`; an unknown key is Nova's 400), then rebuilt while stopped, which leaves
 * it SHUTOFF; each rebuild is an action of the server.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAllInOne, waitStatus, type Deployment } from '../helpers/deployments.ts';
import { GUEST_BOOT_WAIT_MS, markerCount } from '../helpers/guest-image.ts';
import { SSH_KEY_VECTORS } from '../helpers/key-vectors.ts';
import { qemuProcessesOf, waitUntil } from '../helpers/processes.ts';

describe('openstack server rebuild (qemu driver, real guest)', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-rebuild-'));
    d = await startAllInOne(dir, cleanup, { driver: 'qemu' });
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
    const pubFile = join(dir, 'k1.pub');
    writeFileSync(pubFile, `${SSH_KEY_VECTORS.ed25519.publicKey}\n`);
    await d.cli.ok('keypair', 'create', '--public-key', pubFile, 'k1');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('rebuilds a running guest, which boots again; with a key at 2.54; and a stopped one stays off', async () => {
    const { cli } = d;
    const server = await cli.createServerAndWait('--image', 'stratus-guest', '--flavor', 'guest.tiny', 'vm1');
    const markers = async () => markerCount(await cli.ok('console', 'log', 'show', server.id));
    const waitMarkers = (n: number) =>
      waitUntil(`${n} console marker(s)`, async () => (await markers()) >= n, GUEST_BOOT_WAIT_MS);
    await waitMarkers(1);

    assert.match(await cli.ok('server', 'rebuild', '--image', 'stratus-guest', '--wait', 'vm1'), /Complete/);
    await waitMarkers(2);
    let shown = await cli.json<Record<string, unknown>>('server', 'show', 'vm1');
    assert.equal(shown['status'], 'ACTIVE');
    assert.equal(shown['key_name'], null);
    assert.equal(await qemuProcessesOf(server.id), 1);

    const v254 = ['--os-compute-api-version', '2.54'];
    await cli.ok(...v254, 'server', 'rebuild', '--image', 'stratus-guest', '--key-name', 'k1', '--wait', 'vm1');
    await waitMarkers(3);
    shown = await cli.json<Record<string, unknown>>('server', 'show', 'vm1');
    assert.equal(shown['status'], 'ACTIVE');
    assert.equal(shown['key_name'], 'k1');

    const unknownKey = await cli.run(
      ...v254,
      'server',
      'rebuild',
      '--image',
      'stratus-guest',
      '--key-name',
      'no',
      'vm1',
    );
    assert.notEqual(unknownKey.code, 0);
    assert.match(unknownKey.stderr, /Invalid key_name provided\. \(HTTP 400\)/);

    await cli.ok('server', 'stop', 'vm1');
    await waitStatus(cli, server.id, 'SHUTOFF', GUEST_BOOT_WAIT_MS);
    await cli.ok('server', 'rebuild', '--image', 'stratus-guest', 'vm1');
    await waitStatus(cli, server.id, 'SHUTOFF', GUEST_BOOT_WAIT_MS);
    shown = await cli.json<Record<string, unknown>>('server', 'show', 'vm1');
    assert.equal(shown['OS-EXT-STS:task_state'], null);
    assert.equal(await qemuProcessesOf(server.id), 0, 'a server rebuilt while stopped stays off');
    assert.equal(await markers(), 3);

    const actions = await cli.json<{ Action: string }[]>('server', 'event', 'list', server.id);
    assert.deepEqual(
      actions.map((a) => a.Action).filter((a) => a === 'rebuild'),
      ['rebuild', 'rebuild', 'rebuild'],
    );

    await cli.ok('server', 'delete', '--wait', server.id);
    assert.equal(await qemuProcessesOf(server.id), 0);
  });
});
