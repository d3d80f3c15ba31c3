/**
 * Locks, tags and state resets through the real `openstack` CLI, against one all-in-one cloud on SQLite:
 * an admin and a member of another project driving the same server. This CLI (6.0) tags servers with
 * `server set --tag` and `server unset --tag` (later versions also have `server add tag`/`remove tag`,
 * which send the same requests).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startAllInOne, waitStatus, type Deployment } from '../helpers/deployments.ts';
import { OpenstackCli } from '../helpers/openstack-cli.ts';

describe('openstack CLI: lock, tags and reset state', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  /** A member of project demo. */
  let member: OpenstackCli;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-admin-'));
    d = await startAllInOne(dir, cleanup);
    const { cli } = d;
    await createRawImage(cli, dir, 'adm-image', 1 << 16);
    await cli.ok('image', 'set', '--public', 'adm-image');
    await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'adm.tiny');
    await cli.ok('project', 'create', 'demo');
    await cli.ok('user', 'create', '--password', 'secret', 'alice');
    await cli.ok('role', 'add', '--user', 'alice', '--project', 'demo', 'member');
    member = new OpenstackCli({
      ...d.env,
      OS_USERNAME: 'alice',
      OS_PASSWORD: 'secret',
      OS_PROJECT_NAME: 'demo',
      OS_COMPUTE_API_VERSION: '2.73',
    });
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("locks with a reason, refuses the owner, and keeps an admin's lock from the owner", async () => {
    const { cli } = d;
    const admin = (...args: string[]) => cli.ok('--os-compute-api-version', '2.73', ...args);
    const show = (who: OpenstackCli, name: string) =>
      who.json<Record<string, unknown>>('--os-compute-api-version', '2.73', 'server', 'show', name);
    const server = await member.createServerAndWait(
      '--flavor',
      'adm.tiny',
      '--image',
      'adm-image',
      '--nic',
      'none',
      'vm1',
    );

    await member.ok('server', 'lock', '--reason', 'maintenance', 'vm1');
    let shown = await show(member, 'vm1');
    assert.equal(shown['locked'], true);
    assert.equal(shown['locked_reason'], 'maintenance');
    const stop = await member.run('server', 'stop', 'vm1');
    assert.notEqual(stop.code, 0);
    assert.match(stop.stderr, /is locked.*409|409.*is locked|HTTP 409/s);
    const del = await member.run('server', 'delete', 'vm1');
    assert.notEqual(del.code, 0);
    await member.ok('server', 'unlock', 'vm1');
    shown = await show(member, 'vm1');
    assert.equal(shown['locked'], false);
    assert.equal(shown['locked_reason'], null);

    // An admin's lock: the owner may not lift it, the admin may.
    await admin('server', 'lock', '--reason', 'held by ops', server.id);
    const unlock = await member.run('server', 'unlock', 'vm1');
    assert.notEqual(unlock.code, 0);
    assert.match(unlock.stderr, /unlock_override.*403|HTTP 403/s);
    assert.equal((await show(member, 'vm1'))['locked_reason'], 'held by ops');
    await admin('server', 'unlock', server.id);
    assert.equal((await show(member, 'vm1'))['locked'], false);

    const events = await member.json<{ Action: string }[]>('server', 'event', 'list', 'vm1');
    assert.deepEqual(
      events.map((e) => e.Action),
      ['unlock', 'lock', 'unlock', 'lock', 'create'],
    );
  });

  it('tags servers, lists by tag and shows the tags', async () => {
    await member.createServerAndWait('--flavor', 'adm.tiny', '--image', 'adm-image', '--nic', 'none', 'vm2');
    await member.ok('server', 'set', '--tag', 'web', '--tag', 'prod', 'vm1');
    await member.ok('server', 'set', '--tag', 'web', 'vm2');
    const tagged = async (...tags: string[]) =>
      (await member.json<{ Name: string }[]>('server', 'list', ...tags.flatMap((t) => ['--tags', t])))
        .map((s) => s.Name)
        .sort();
    assert.deepEqual(await tagged('web'), ['vm1', 'vm2']);
    assert.deepEqual(await tagged('web', 'prod'), ['vm1']);
    const untagged = await member.json<{ Name: string }[]>('server', 'list', '--not-tags', 'prod');
    assert.deepEqual(
      untagged.map((s) => s.Name),
      ['vm2'],
    );
    const shown = await member.json<{ tags: string[] }>('server', 'show', 'vm1');
    assert.deepEqual(shown.tags, ['prod', 'web']);

    await member.ok('server', 'unset', '--tag', 'prod', 'vm1');
    assert.deepEqual((await member.json<{ tags: string[] }>('server', 'show', 'vm1')).tags, ['web']);
    assert.deepEqual(await tagged('prod'), []);
    const bad = await member.run('server', 'set', '--tag', 'a,b', 'vm1');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /HTTP 400/);
  });

  it('resets the state for an admin only', async () => {
    const { cli } = d;
    const vm1 = await member.json<{ id: string }>('server', 'show', 'vm1');
    await cli.ok('server', 'set', '--state', 'error', vm1.id);
    await waitStatus(member, vm1.id, 'ERROR');
    const shown = await cli.json<Record<string, unknown>>('server', 'show', vm1.id);
    assert.equal(shown['OS-EXT-STS:vm_state'], 'error');
    assert.equal(shown['OS-EXT-STS:task_state'], null);
    // Tags may not change while the server is in error (409).
    const tag = await member.run('server', 'set', '--tag', 'late', 'vm1');
    assert.notEqual(tag.code, 0);
    assert.match(tag.stderr, /HTTP 409/);

    const refused = await member.run('server', 'set', '--state', 'active', 'vm1');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /reset_state.*403|HTTP 403/s);
    await cli.ok('server', 'set', '--state', 'active', vm1.id);
    await waitStatus(member, vm1.id, 'ACTIVE');
    const events = await member.json<{ Action: string }[]>('server', 'event', 'list', 'vm1');
    assert.deepEqual(
      events.slice(0, 2).map((e) => e.Action),
      ['resetState', 'resetState'],
    );
    await member.ok('server', 'delete', '--wait', 'vm1', 'vm2');
  });
});
