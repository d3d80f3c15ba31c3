/**
 * POST /servers with what the guest is given: key_name (one of the caller's key pairs, kept with its
 * public part), user_data (base64 as Nova's decoder reads it; shown to admins from 2.3) and adminPass
 * (Nova's, kept for the guest; [api] enable_instance_password hides it from the answer).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyPair } from '../../../src/objects/key-pairs.ts';
import { getInstance, markInstanceDeleted } from '../../../src/objects/instances.ts';
import { SSH_KEY_VECTORS } from '../../helpers/key-vectors.ts';
import { addComputeHost, client, countRows, fault, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'host1');
  await createKeyPair(h.database.db, {
    name: 'alice-key',
    userId: 'alice',
    type: 'ssh',
    publicKey: SSH_KEY_VECTORS.ed25519.publicKey,
    fingerprint: SSH_KEY_VECTORS.ed25519.fingerprint,
  });
  await createKeyPair(h.database.db, {
    name: 'bob-key',
    userId: 'bob',
    type: 'ssh',
    publicKey: SSH_KEY_VECTORS.rsa.publicKey,
    fingerprint: SSH_KEY_VECTORS.rsa.fingerprint,
  });
});
after(() => h.close());

const body = (server: Record<string, unknown>) => ({
  server: { name: 'web', imageRef: h.cirros.id, flavorRef: '1', ...server },
});

describe('POST /servers: key_name, user_data, adminPass', () => {
  it('keeps the key pair named by key_name with the instance, and shows its name', async () => {
    const res = await client(h.app, 'alice').post('/v2.1/servers', body({ key_name: 'alice-key' }));
    assert.equal(res.statusCode, 202, res.body);
    const id = res.json().server.id as string;
    const instance = await getInstance(h.database.db, id);
    assert.equal(instance.key_name, 'alice-key');
    assert.equal(instance.key_data, SSH_KEY_VECTORS.ed25519.publicKey);
    assert.equal(instance.key_type, 'ssh');
    const shown = (await client(h.app, 'alice').get(`/v2.1/servers/${id}`)).json().server;
    assert.equal(shown.key_name, 'alice-key');
  });

  it('refuses a key_name the caller has no key pair of (another user’s included) before writing', async () => {
    const before = await countRows(h, 'instances');
    for (const [who, key] of [
      ['alice', 'no-such-key'],
      ['alice', 'bob-key'],
      ['admin', 'alice-key'],
    ] as const) {
      const res = await client(h.app, who).post('/v2.1/servers', body({ key_name: key }));
      assert.equal(res.statusCode, 400, `${who} ${key}`);
      assert.deepEqual(fault(res), { name: 'badRequest', code: 400, message: 'Invalid key_name provided.' });
    }
    assert.equal(await countRows(h, 'instances'), before);
  });

  it('checks user_data as Python’s base64 decoder does, and shows it to admins from 2.3', async () => {
    // Characters outside the alphabet are skipped; decoding stops at padding that completes a group.
    for (const good of ['aGVsbG8=', 'aGVs\nbG8=', 'aGVsbG8=ignored', 'ab!cd', '']) {
      const res = await client(h.app, 'alice').post('/v2.1/servers', body({ user_data: good }));
      assert.equal(res.statusCode, 202, JSON.stringify(good));
    }
    for (const bad of ['aGVsbG8', 'a', 'abcde', 'not base64!']) {
      const res = await client(h.app, 'alice').post('/v2.1/servers', body({ user_data: bad }));
      assert.equal(res.statusCode, 400, JSON.stringify(bad));
      assert.match(fault(res).message, /user_data.*is not a 'base64'/);
    }
    const tooBig = await client(h.app, 'alice').post('/v2.1/servers', body({ user_data: 'QUFB'.repeat(16384) }));
    assert.equal(tooBig.statusCode, 400);

    const created = await client(h.app, 'alice').post('/v2.1/servers', body({ user_data: 'aGVsbG8=' }));
    const id = created.json().server.id as string;
    assert.equal((await getInstance(h.database.db, id)).user_data, 'aGVsbG8=');
    const at23 = (await client(h.app, 'admin', '2.3').get(`/v2.1/servers/${id}`)).json().server;
    assert.equal(at23['OS-EXT-SRV-ATTR:user_data'], 'aGVsbG8=');
    const at22 = (await client(h.app, 'admin', '2.2').get(`/v2.1/servers/${id}`)).json().server;
    assert.equal('OS-EXT-SRV-ATTR:user_data' in at22, false);
    const member = (await client(h.app, 'alice', '2.3').get(`/v2.1/servers/${id}`)).json().server;
    assert.equal('OS-EXT-SRV-ATTR:user_data' in member, false);
  });

  it('answers with the given or a generated adminPass and keeps it until the server is deleted', async () => {
    const given = await client(h.app, 'alice').post('/v2.1/servers', body({ adminPass: 's3cret!' }));
    assert.equal(given.json().server.adminPass, 's3cret!');
    const givenId = given.json().server.id as string;
    assert.equal((await getInstance(h.database.db, givenId)).admin_pass, 's3cret!');

    const generated = await client(h.app, 'alice').post('/v2.1/servers', body({}));
    const password = generated.json().server.adminPass as string;
    // Nova's generate_password: 12 characters, one at least of digits, upper and lower case, no look-alikes.
    assert.match(password, /^[2-9A-HJ-NP-Za-km-z]{12}$/);
    assert.match(password, /[2-9]/);
    assert.match(password, /[A-Z]/);
    assert.match(password, /[a-z]/);
    const id = generated.json().server.id as string;
    assert.equal((await getInstance(h.database.db, id)).admin_pass, password);
    // Never shown again.
    const shown = await client(h.app, 'admin', '2.96').get(`/v2.1/servers/${id}`);
    assert.equal(shown.body.includes(password), false);

    await markInstanceDeleted(h.database.db, id);
    assert.equal((await getInstance(h.database.db, id, true)).admin_pass, null);
  });

  it('leaves adminPass out of the answer when [api] enable_instance_password is false', async () => {
    const quiet = await startComputeApi({
      api: { enable_instance_password: 'false' },
      DEFAULT: { password_length: '20' },
    });
    try {
      await addComputeHost(quiet, 'host1');
      const server = { name: 'web', imageRef: quiet.cirros.id, flavorRef: '1' };
      const res = await client(quiet.app, 'alice').post('/v2.1/servers', { server });
      assert.equal(res.statusCode, 202);
      assert.deepEqual(Object.keys(res.json().server).sort(), ['OS-DCF:diskConfig', 'id', 'links', 'security_groups']);
      const kept = (await getInstance(quiet.database.db, res.json().server.id)).admin_pass;
      assert.equal(kept?.length, 20, 'still generated (password_length) and kept for the guest');
    } finally {
      await quiet.close();
    }
  });
});
