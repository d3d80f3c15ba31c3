/**
 * Key pairs on every engine: unique per user and name (names compared byte for byte, so case matters on
 * MariaDB too), lists by name with limit/marker, delete, and the per-user count the quota reads.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BadRequest, Conflict, NotFound } from '../../src/common/errors.ts';
import {
  countKeyPairs,
  createKeyPair,
  deleteKeyPair,
  findKeyPair,
  getKeyPair,
  listKeyPairs,
} from '../../src/objects/key-pairs.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { SSH_KEY_VECTORS } from '../helpers/key-vectors.ts';

const KEY = {
  type: 'ssh',
  publicKey: SSH_KEY_VECTORS.ed25519.publicKey,
  fingerprint: SSH_KEY_VECTORS.ed25519.fingerprint,
} as const;

describeOnEachEngine('key pairs', (database) => {
  it('creates a key pair per user and name, and refuses a second of the same name', async () => {
    const db = database().db;
    const created = await createKeyPair(db, { ...KEY, name: 'k1', userId: 'u1' });
    assert.deepEqual(
      {
        name: created.name,
        user: created.user_id,
        type: created.type,
        key: created.public_key,
        fp: created.fingerprint,
      },
      { name: 'k1', user: 'u1', type: 'ssh', key: KEY.publicKey, fp: KEY.fingerprint },
    );
    assert.equal(typeof created.id, 'number');
    assert.match(created.created_at, /^\d{4}-\d\d-\d\dT/);
    assert.equal(created.updated_at, null);
    await assert.rejects(createKeyPair(db, { ...KEY, name: 'k1', userId: 'u1' }), (err: Error) => {
      return err instanceof Conflict && err.message === "Key pair 'k1' already exists.";
    });
    // Another user may use the name; a name differing only in case is another name.
    await createKeyPair(db, { ...KEY, name: 'k1', userId: 'u2' });
    await createKeyPair(db, { ...KEY, name: 'K1', userId: 'u1' });
    assert.equal((await getKeyPair(db, 'u1', 'K1')).name, 'K1');
    assert.equal((await getKeyPair(db, 'u1', 'k1')).id, created.id);
    assert.equal(await findKeyPair(db, 'u3', 'k1'), null);
    await assert.rejects(getKeyPair(db, 'u3', 'k1'), (err: Error) => {
      return err instanceof NotFound && err.message === 'Keypair k1 not found for user u3';
    });
    assert.equal(await countKeyPairs(db, 'u1'), 2);
    assert.equal(await countKeyPairs(db, 'u2'), 1);
    assert.equal(await countKeyPairs(db, 'u3'), 0);
  });

  it('lists a user’s key pairs by name, a page at a time', async () => {
    const db = database().db;
    for (const name of ['c', 'a', 'd', 'b']) await createKeyPair(db, { ...KEY, name, userId: 'pager' });
    await createKeyPair(db, { ...KEY, name: 'x', userId: 'other' });
    const names = async (page: Parameters<typeof listKeyPairs>[2]) =>
      (await listKeyPairs(db, 'pager', page)).map((k) => k.name);
    assert.deepEqual(await names({}), ['a', 'b', 'c', 'd']);
    assert.deepEqual(await names({ limit: 2 }), ['a', 'b']);
    assert.deepEqual(await names({ limit: 2, marker: 'b' }), ['c', 'd']);
    assert.deepEqual(await names({ marker: 'd' }), []);
    assert.deepEqual(await names({ limit: 0 }), []);
    await assert.rejects(listKeyPairs(db, 'pager', { marker: 'x' }), (err: Error) => {
      return err instanceof BadRequest && err.message === 'Marker x could not be found.';
    });
  });

  it('deletes a key pair by user and name', async () => {
    const db = database().db;
    await createKeyPair(db, { ...KEY, name: 'gone', userId: 'd1' });
    await createKeyPair(db, { ...KEY, name: 'gone', userId: 'd2' });
    await deleteKeyPair(db, 'd1', 'gone');
    assert.equal(await findKeyPair(db, 'd1', 'gone'), null);
    assert.notEqual(await findKeyPair(db, 'd2', 'gone'), null);
    await assert.rejects(deleteKeyPair(db, 'd1', 'gone'), NotFound);
  });
});
