/**
 * Deferred delete and changePassword through the real `openstack` CLI, against an all-in-one cloud on
 * SQLite with the fake driver and `[DEFAULT] reclaim_instance_interval` set: `server delete` leaves the
 * server SOFT_DELETED (out of `server list`, as in Nova), `server restore` brings it back, `server delete
 * --force` deletes it for good, and `server set --password` changes the admin password (this CLI's
 * `--root-password` only prompts on a terminal). A soft-deleted server is not in lists, so the CLI finds
 * it by ID only, as against Nova.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startAllInOne, waitStatus, type Deployment, type ServerRow } from '../helpers/deployments.ts';
import { listActions } from '../../src/objects/instance-actions.ts';
import { waitUntil } from '../helpers/processes.ts';

describe('openstack CLI: soft delete, restore, force delete and password', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-softdelete-'));
    d = await startAllInOne(dir, cleanup, { lines: ['reclaim_instance_interval = 3600'] });
    await createRawImage(d.cli, dir, 'sd-image', 1 << 16);
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'sd.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('soft-deletes, restores, changes the password and force-deletes vm1', async () => {
    const { cli } = d;
    const server = await cli.createServerAndWait('--flavor', 'sd.tiny', '--image', 'sd-image', 'vm1');

    await cli.ok('server', 'set', '--password', 'n3w-Secret', 'vm1');
    const events = await cli.json<{ Action: string }[]>('server', 'event', 'list', 'vm1');
    assert.equal(events[0]?.Action, 'changePassword');
    await waitStatus(cli, server.id, 'ACTIVE');

    await cli.ok('server', 'delete', 'vm1');
    await waitStatus(cli, server.id, 'SOFT_DELETED');
    const shown = await cli.json<Record<string, unknown>>('server', 'show', server.id);
    assert.equal(shown['OS-EXT-STS:vm_state'], 'soft-delete');
    assert.equal(shown['OS-EXT-STS:power_state'], 4, 'shutdown');
    assert.deepEqual(await cli.json<ServerRow[]>('server', 'list'), [], 'soft-deleted servers are not listed');
    const held = await d.database.db.selectFrom('allocations').select('id').execute();
    assert.equal(held.length > 0, true, 'a soft-deleted server keeps its resources until reclaimed');
    const refused = await cli.run('server', 'set', '--password', 'x', server.id);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /HTTP 409/);

    // As against Nova: the CLI finds a name through the server list, which leaves soft-deleted servers out.
    const byName = await cli.run('server', 'restore', 'vm1');
    assert.notEqual(byName.code, 0);
    assert.match(byName.stderr, /No server with a name or ID of 'vm1' exists/);
    await cli.ok('server', 'restore', server.id);
    await waitStatus(cli, server.id, 'ACTIVE');
    assert.deepEqual(
      (await cli.json<ServerRow[]>('server', 'list')).map((r) => r.Name),
      ['vm1'],
    );
    const again = await cli.run('server', 'restore', server.id);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /HTTP 409/);

    await cli.ok('server', 'delete', 'vm1');
    await waitStatus(cli, server.id, 'SOFT_DELETED');
    await cli.ok('server', 'delete', '--force', server.id);
    await waitUntil('vm1 gone', async () => (await cli.run('server', 'show', server.id)).code !== 0);
    const left = await d.database.db.selectFrom('allocations').select('id').execute();
    assert.equal(left.length, 0, 'the force delete freed its resources');
    const actions = (await listActions(d.database.db, server.id)).map((a) => a.action);
    assert.deepEqual(actions, ['delete', 'delete', 'restore', 'delete', 'changePassword', 'create']);
  });
});
