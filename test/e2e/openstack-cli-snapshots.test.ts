/**
 * Snapshots of real guests through the real `openstack` CLI (all-in-one, qemu driver): a server from the
 * demo guest, `openstack server image create --wait`, the snapshot active with image_type=snapshot and the
 * base image's boot properties, a second server booted from it printing the guest's console marker, then
 * both deleted and the snapshot too, with no qemu process, guest directory or snapshot file left. With the
 * fake driver, the same CLI flow ends in an active placeholder image, and a server in the wrong state gets 409.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startAllInOne, type Deployment } from '../helpers/deployments.ts';
import { GUEST_BOOT_WAIT_MS, markerCount } from '../helpers/guest-image.ts';
import { qemuProcessesOf, waitUntil } from '../helpers/processes.ts';

/** `image show -f json` gives the properties as an object (newer CLIs) or as `k='v', ...` text (older). */
function propertiesOf(image: { properties?: unknown }): Record<string, string> {
  const raw = image.properties;
  if (raw && typeof raw === 'object') return raw as Record<string, string>;
  const text = typeof raw === 'string' ? raw : '';
  return Object.fromEntries([...text.matchAll(/(\w+)='([^']*)'/g)].map((m) => [m[1]!, m[2]!]));
}

describe('openstack CLI: snapshots of real guests (qemu driver)', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-snap-'));
    d = await startAllInOne(dir, cleanup, { driver: 'qemu' });
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'guest.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('snapshots a running guest and boots a second server from the snapshot', async () => {
    const { cli } = d;
    const markers = async (id: string) => markerCount(await cli.ok('console', 'log', 'show', id));
    const create = (image: string, name: string) =>
      cli.createServerAndWait('--image', image, '--flavor', 'guest.tiny', name);
    const first = await create('stratus-guest', 'original');
    assert.equal(first.status, 'ACTIVE');
    await waitUntil('the original prints its marker', async () => (await markers(first.id)) >= 1, GUEST_BOOT_WAIT_MS);

    const snapshot = await cli.json<{ id: string; status: string }>(
      ...['server', 'image', 'create', '--name', 'snap1', '--wait', first.id],
    );
    const image = await cli.json<{ status: string; disk_format: string; visibility: string; properties: unknown }>(
      ...['image', 'show', snapshot.id],
    );
    assert.equal(image.status, 'active');
    assert.equal(image.disk_format, 'qcow2');
    assert.equal(image.visibility, 'private');
    const base = await cli.json<{ id: string; properties: unknown }>('image', 'show', 'stratus-guest');
    const props = propertiesOf(image);
    const baseProps = propertiesOf(base);
    assert.equal(props['image_type'], 'snapshot');
    assert.equal(props['instance_uuid'], first.id);
    assert.equal(props['base_image_ref'], base.id);
    assert.equal(props['kernel_id'], baseProps['kernel_id']);
    assert.equal(props['ramdisk_id'], baseProps['ramdisk_id']);
    const shown = await cli.json<{ status: string; 'OS-EXT-STS:task_state': string | null }>(
      ...['server', 'show', first.id],
    );
    assert.equal(shown.status, 'ACTIVE', 'the snapshotted server runs on');
    assert.equal(shown['OS-EXT-STS:task_state'], null);
    assert.equal(await qemuProcessesOf(first.id), 1);
    const events = await cli.json<{ Action: string }[]>('server', 'event', 'list', first.id);
    assert.deepEqual(events.map((e) => e.Action).sort(), ['create', 'createImage']);

    const second = await create('snap1', 'from-snapshot');
    assert.equal(second.status, 'ACTIVE');
    await waitUntil(
      'the snapshot boots to its marker',
      async () => (await markers(second.id)) >= 1,
      GUEST_BOOT_WAIT_MS,
    );

    await cli.ok('server', 'delete', '--wait', first.id, second.id);
    await cli.ok('image', 'delete', snapshot.id);
    for (const id of [first.id, second.id]) {
      assert.equal(await qemuProcessesOf(id), 0);
      assert.equal(existsSync(join(dir, 'instances', id)), false);
    }
    const snapshotsDir = join(dir, 'instances', 'snapshots');
    assert.deepEqual(existsSync(snapshotsDir) ? readdirSync(snapshotsDir) : [], [], 'no snapshot file left');
    assert.equal(existsSync(join(dir, 'images', snapshot.id)), false, 'the image data is gone with the image');
  });
});

describe('openstack CLI: snapshots with the fake driver', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-snapfake-'));
    d = await startAllInOne(dir, cleanup, { driver: 'fake' });
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("uploads the placeholder snapshot as compute's service user, and refuses a server in ERROR", async () => {
    const { cli } = d;
    await createRawImage(cli, dir, 'raw1');
    const server = await cli.createServerAndWait('--image', 'raw1', '--flavor', 'm1.tiny', 'fake1');
    await cli.ok('server', 'stop', server.id);
    await waitUntil(
      'SHUTOFF',
      async () => (await cli.json<{ status: string }>('server', 'show', server.id)).status === 'SHUTOFF',
      60_000,
    );
    const snapshot = await cli.json<{ id: string }>(
      ...['server', 'image', 'create', '--name', 'fake-snap', '--wait', server.id],
    );
    const image = await cli.json<{ status: string; disk_format: string; size: number; properties: unknown }>(
      ...['image', 'show', snapshot.id],
    );
    assert.equal(image.status, 'active');
    assert.equal(image.disk_format, 'raw');
    assert.equal(propertiesOf(image)['instance_uuid'], server.id);
    const shown = await cli.json<{ status: string }>('server', 'show', server.id);
    assert.equal(shown.status, 'SHUTOFF', 'a snapshot leaves the server in its state');

    await d.database.db.updateTable('instances').set({ vm_state: 'error' }).where('uuid', '=', server.id).execute();
    const refused = await cli.run('server', 'image', 'create', '--name', 'never', server.id);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /409.*Cannot 'createImage' instance \S+ while it is in vm_state error/);
    const names = (await cli.json<{ Name: string }[]>('image', 'list')).map((i) => i.Name);
    assert.ok(!names.includes('never'), 'no image is made for a refused snapshot');
  });
});
