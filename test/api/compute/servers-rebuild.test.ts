/** The rebuild server action: bodies per microversion, what it stores and casts, its answers and refusals. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createKeyPair } from '../../../src/objects/key-pairs.ts';
import { getInstance, type Instance } from '../../../src/objects/instances.ts';
import { getRequestSpec, insertRequestSpec } from '../../../src/objects/request-specs.ts';
import { testSpec } from '../../helpers/request-spec.ts';
import { SSH_KEY_VECTORS } from '../../helpers/key-vectors.ts';
import { addComputeHost, client, countRows, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;

before(async () => {
  h = await startComputeApi({ quota: { metadata_items: '3' } });
  await addComputeHost(h, 'host1');
  await createKeyPair(h.database.db, {
    name: 'alice-key',
    userId: 'alice',
    type: 'ssh',
    publicKey: SSH_KEY_VECTORS.ed25519.publicKey,
    fingerprint: SSH_KEY_VECTORS.ed25519.fingerprint,
  });
});
after(async () => {
  await h.close();
});
beforeEach(() => {
  h.transport.casts.length = 0;
  h.transport.refuse = null;
});

const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;
const rebuildCasts = () => h.transport.casts.filter((c) => c.method === 'rebuild_instance');

async function actionsOf(uuid: string): Promise<string[]> {
  const res = await client(h.app, 'admin').get(`/v2.1/servers/${uuid}/os-instance-actions`);
  return (res.json().instanceActions as { action: string }[]).map((a) => a.action);
}

/** A refused rebuild leaves the server as it was: no task, same image, no action, nothing cast. */
async function assertUnchanged(before: Instance): Promise<void> {
  const now = await getInstance(h.database.db, before.uuid);
  assert.equal(now.task_state, before.task_state);
  assert.equal(now.image_ref, before.image_ref);
  assert.equal(now.display_name, before.display_name);
  assert.deepEqual(now.metadata, before.metadata);
  assert.deepEqual(rebuildCasts(), []);
  assert.ok(!(await actionsOf(before.uuid)).includes('rebuild'));
}

describe('POST /servers/{id}/action rebuild', () => {
  it('stores the new image, claims the server, records the action and casts rebuild_instance (2.1)', async () => {
    const image = h.images.add({ min_ram: 64, properties: { os_distro: 'demo' } });
    const server = await seedServer(h);
    await insertRequestSpec(h.database.db, server.uuid, testSpec());
    const res = await client(h.app, 'alice').post(action(server.uuid), { rebuild: { imageRef: image.id } });
    assert.equal(res.statusCode, 202);
    assert.match(String(res.headers['location']), new RegExp(`/servers/${server.uuid}$`));
    const body = res.json().server as Record<string, unknown>;
    assert.equal(body['status'], 'REBUILD');
    assert.equal((body['image'] as { id: string }).id, image.id);
    assert.equal(typeof body['adminPass'], 'string');
    assert.ok(!('key_name' in body) && !('user_data' in body) && !('OS-EXT-STS:task_state' in body));

    const stored = await getInstance(h.database.db, server.uuid);
    assert.equal(stored.task_state, 'rebuilding');
    assert.equal(stored.image_ref, image.id);
    assert.equal(stored.admin_pass, body['adminPass']);
    const [cast] = rebuildCasts();
    assert.equal(cast?.queue, 'compute.host1');
    assert.equal(cast.args['orig_image_ref'], h.cirros.id);
    assert.equal(cast.args['preserve_ephemeral'], false);
    assert.equal((cast.args['instance'] as { image_ref: string }).image_ref, image.id);
    assert.deepEqual(await actionsOf(server.uuid), ['rebuild']);
    const spec = await getRequestSpec(h.database.db, server.uuid);
    assert.deepEqual(spec.image, { id: image.id, properties: { os_distro: 'demo' } });
  });

  it('takes every attribute of 2.90, stores them and answers with the full view', async () => {
    const server = await seedServer(h, { name: 'old' });
    await h.database.db
      .insertInto('instance_metadata')
      .values({ instance_uuid: server.uuid, key: 'gone', value: 'x' })
      .execute();
    const res = await client(h.app, 'alice', '2.90').post(action(server.uuid), {
      rebuild: {
        imageRef: h.cirros.id,
        name: 'new-name',
        adminPass: 'S3cret-pass',
        metadata: { role: 'web' },
        preserve_ephemeral: 'true',
        'OS-DCF:diskConfig': 'AUTO',
        accessIPv4: '192.0.2.7',
        accessIPv6: '2001:DB8::0:1',
        description: 'rebuilt',
        key_name: 'alice-key',
        user_data: 'aGVsbG8=',
        hostname: 'new-host',
      },
    });
    assert.equal(res.statusCode, 202, res.body);
    const body = res.json().server as Record<string, unknown>;
    assert.equal(body['name'], 'new-name');
    assert.equal(body['adminPass'], 'S3cret-pass');
    assert.deepEqual(body['metadata'], { role: 'web' });
    assert.equal(body['key_name'], 'alice-key');
    assert.equal(body['user_data'], 'aGVsbG8=');
    assert.equal(body['description'], 'rebuilt');
    assert.equal(body['OS-DCF:diskConfig'], 'AUTO');
    assert.equal(body['accessIPv6'], '2001:db8::1');
    assert.equal(body['OS-EXT-SRV-ATTR:hostname'], 'new-host');
    assert.equal(body['OS-EXT-STS:task_state'], 'rebuilding');

    const stored = await getInstance(h.database.db, server.uuid);
    assert.equal(stored.key_data, SSH_KEY_VECTORS.ed25519.publicKey);
    assert.equal(stored.user_data, 'aGVsbG8=');
    assert.equal(stored.hostname, 'new-host');
    assert.deepEqual(stored.metadata, { role: 'web' });
    assert.equal(rebuildCasts()[0]?.args['preserve_ephemeral'], true);
  });

  it('removes the key pair with key_name null (2.54) and keeps what the body leaves out', async () => {
    const server = await seedServer(h);
    await h.database.db
      .updateTable('instances')
      .set({ key_name: 'k', key_data: 'ssh-ed25519 AAAA', user_data: 'aGk=' })
      .where('uuid', '=', server.uuid)
      .execute();
    const res = await client(h.app, 'alice', '2.57').post(action(server.uuid), {
      rebuild: { imageRef: h.cirros.id, key_name: null },
    });
    assert.equal(res.statusCode, 202);
    assert.equal(res.json().server.key_name, null);
    assert.equal(res.json().server.user_data, 'aGk=');
    const stored = await getInstance(h.database.db, server.uuid);
    assert.equal(stored.key_name, null);
    assert.equal(stored.key_data, null);
    assert.equal(stored.user_data, 'aGk=');
  });

  it('rebuilds STOPPED and ERROR servers', async () => {
    for (const vm_state of ['stopped', 'error']) {
      const server = await seedServer(h, { state: { vm_state } });
      const res = await client(h.app, 'alice').post(action(server.uuid), { rebuild: { imageRef: h.cirros.id } });
      assert.equal(res.statusCode, 202, vm_state);
      assert.equal(res.json().server.status, 'REBUILD');
    }
  });

  it('lets an admin rebuild a locked server (2.96: the view of show)', async () => {
    const server = await seedServer(h, { state: { locked: 1, locked_by: 'owner' } });
    // At the latest version an admin's answer is show's, with the extended attributes, user_data apart.
    const res = await client(h.app, 'admin', '2.96').post(action(server.uuid), { rebuild: { imageRef: h.cirros.id } });
    assert.equal(res.statusCode, 202);
    const body = res.json().server as Record<string, unknown>;
    assert.equal(body['OS-EXT-SRV-ATTR:host'], 'host1');
    assert.equal(body['user_data'], null);
    assert.ok(!('OS-EXT-SRV-ATTR:user_data' in body));
  });

  const refusals: [string, string, Record<string, unknown>, number, RegExp, Parameters<typeof seedServer>[1]?][] = [
    ['a locked server', '2.1', {}, 409, /is locked/, { state: { locked: 1, locked_by: 'owner' } }],
    [
      'a paused server',
      '2.1',
      {},
      409,
      /Cannot 'rebuild' instance .* while it is in vm_state paused/,
      {
        state: { vm_state: 'paused' },
      },
    ],
    [
      'a server with a task',
      '2.1',
      {},
      409,
      /while it is in task_state powering-off/,
      {
        state: { task_state: 'powering-off' },
      },
    ],
    [
      'an unknown image',
      '2.1',
      { imageRef: '7d2b0b4c-5d6f-4b59-a6c1-2d0c6c1f0000' },
      400,
      /^Cannot find image for rebuild$/,
    ],
    ['an unknown key pair', '2.54', { key_name: 'nope' }, 400, /^Invalid key_name provided\.$/],
    ['user_data that is not base64', '2.57', { user_data: 'abc' }, 400, /is not a 'base64'/],
    [
      'more metadata than the quota',
      '2.1',
      { metadata: { a: '1', b: '2', c: '3', d: '4' } },
      403,
      /Maximum number of metadata items exceeds 3/,
    ],
    ['personality from 2.57', '2.57', { personality: [] }, 400, /personality/],
    ['key_name before 2.54', '2.53', { key_name: 'alice-key' }, 400, /key_name/],
    ['user_data before 2.57', '2.56', { user_data: 'aGk=' }, 400, /user_data/],
    ['hostname before 2.90', '2.89', { hostname: 'h' }, 400, /hostname/],
    [
      'trusted image certificates',
      '2.63',
      { trusted_image_certificates: ['c1'] },
      400,
      /trusted_image_certificates is not supported/,
    ],
    ['a bad preserve_ephemeral', '2.1', { preserve_ephemeral: 'maybe' }, 400, /preserve_ephemeral/],
  ];
  for (const [what, version, extra, status, message, seed] of refusals) {
    it(`refuses ${what} and changes nothing`, async () => {
      const server = await seedServer(h, seed);
      const res = await client(h.app, 'alice', version).post(action(server.uuid), {
        rebuild: { imageRef: h.cirros.id, name: 'changed', ...extra },
      });
      assert.equal(res.statusCode, status, res.body);
      assert.match(fault(res).message, message);
      await assertUnchanged(server);
    });
  }

  it('refuses an inactive image and one the flavor cannot hold', async () => {
    const queued = h.images.add({ status: 'queued' });
    const big = h.images.add({ min_disk: 20 });
    const server = await seedServer(h);
    const inactive = await client(h.app, 'alice').post(action(server.uuid), { rebuild: { imageRef: queued.id } });
    assert.equal(inactive.statusCode, 400);
    assert.equal(fault(inactive).message, `Image ${queued.id} is not active.`);
    const tooBig = await client(h.app, 'alice').post(action(server.uuid), { rebuild: { imageRef: big.id } });
    assert.equal(tooBig.statusCode, 400);
    assert.match(fault(tooBig).message, /Flavor's disk is smaller than the minimum size/);
    await assertUnchanged(server);
  });

  it('refuses a body without imageRef', async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'alice').post(action(server.uuid), { rebuild: { name: 'x' } });
    assert.equal(res.statusCode, 400);
    await assertUnchanged(server);
  });

  it('puts the old values back and answers 503 when compute cannot be reached', async () => {
    const image = h.images.add();
    const server = await seedServer(h, { name: 'keep' });
    h.transport.refuse = new Error('broker down');
    const res = await client(h.app, 'alice').post(action(server.uuid), {
      rebuild: { imageRef: image.id, name: 'lost', metadata: { x: 'y' } },
    });
    assert.equal(res.statusCode, 503);
    const stored = await getInstance(h.database.db, server.uuid);
    assert.equal(stored.task_state, null);
    assert.equal(stored.image_ref, h.cirros.id);
    assert.equal(stored.display_name, 'keep');
    assert.deepEqual(stored.metadata, {});
  });

  it('leaves other projects’ servers unseen', async () => {
    const server = await seedServer(h);
    const before = await countRows(h, 'instance_actions');
    const res = await client(h.app, 'bob').post(action(server.uuid), { rebuild: { imageRef: h.cirros.id } });
    assert.equal(res.statusCode, 404);
    assert.equal(await countRows(h, 'instance_actions'), before);
  });
});

describe('rebuild with [api] enable_instance_password = false', () => {
  it('keeps the password but leaves adminPass out of the answer', async () => {
    const quiet = await startComputeApi({ api: { enable_instance_password: 'false' } });
    try {
      await addComputeHost(quiet, 'host1');
      const server = await seedServer(quiet);
      const res = await client(quiet.app, 'alice').post(action(server.uuid), {
        rebuild: { imageRef: quiet.cirros.id, adminPass: 'kept' },
      });
      assert.equal(res.statusCode, 202);
      assert.ok(!('adminPass' in res.json().server));
      assert.equal((await getInstance(quiet.database.db, server.uuid)).admin_pass, 'kept');
    } finally {
      await quiet.close();
    }
  });
});
