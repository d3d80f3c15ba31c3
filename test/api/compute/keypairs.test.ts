/**
 * os-keypairs at every microversion that changes it: generation and import, ssh and x509 (2.2), admins
 * acting for other users (2.10), paging (2.35), strict query parameters (2.75), the wider names and the
 * end of generation (2.92); status codes, Nova's messages, and every body against its strict schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keyFingerprint } from '../../../src/common/keys/key-pair-material.ts';
import { SSH_KEY_VECTORS, X509_VECTOR } from '../../helpers/key-vectors.ts';
import { client, fault, startComputeApi, type Harness, type Who } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi({ DEFAULT: { osapi_max_limit: '3' } });
});
after(() => h.close());

const ED25519 = SSH_KEY_VECTORS.ed25519;

/** The key pair requests as `who` at `version`. */
function api(who: Who, version: string) {
  const c = client(h.app, who, version);
  const one = (name: string, query: string) => `/v2.1/os-keypairs/${encodeURIComponent(name)}${query}`;
  return {
    create: (keypair: Record<string, unknown>) => c.post('/v2.1/os-keypairs', { keypair }),
    list: (query = '') => c.get(`/v2.1/os-keypairs${query}`),
    show: (name: string, query = '') => c.get(one(name, query)),
    delete: (name: string, query = '') => c.delete(one(name, query)),
  };
}

const names = (res: { json(): unknown }) =>
  (res.json() as { keypairs: { keypair: { name: string } }[] }).keypairs.map((k) => k.keypair.name);

describe('os-keypairs', () => {
  it('2.1: generates a pair (200, private key once), shows, lists and deletes it (202)', async () => {
    const a = api('alice', '2.1');
    const created = await a.create({ name: 'gen-21' });
    assert.equal(created.statusCode, 200);
    const key = created.json().keypair;
    assert.match(key.private_key, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(key.public_key, /^ssh-rsa \S+ Generated-by-Nova$/);
    assert.equal(key.fingerprint, keyFingerprint('ssh', key.public_key));
    assert.equal(key.user_id, 'alice');
    assert.equal('type' in key, false);

    const shown = (await a.show('gen-21')).json().keypair;
    assert.equal(shown.public_key, key.public_key);
    assert.equal('private_key' in shown, false, 'the private key is never kept');
    assert.equal(shown.deleted, false);
    assert.deepEqual(names(await a.list()), ['gen-21']);

    const deleted = await a.delete('gen-21');
    assert.equal(deleted.statusCode, 202);
    assert.equal(deleted.body, '');
    const gone = await a.show('gen-21');
    assert.equal(gone.statusCode, 404);
    assert.deepEqual(fault(gone), {
      name: 'itemNotFound',
      code: 404,
      message: 'Keypair gen-21 not found for user alice',
    });
    assert.equal((await a.delete('gen-21')).statusCode, 404);
    // `type` arrives with 2.2.
    const typed = await a.create({ name: 'typed', type: 'ssh', public_key: ED25519.publicKey });
    assert.equal(typed.statusCode, 400);
    assert.match(fault(typed).message, /Additional properties are not allowed \('type' was unexpected\)/);
  });

  it('imports the public key of every supported type with the fingerprint ssh-keygen gives', async () => {
    const a = api('alice', '2.2');
    for (const [name, vector] of Object.entries(SSH_KEY_VECTORS)) {
      const res = await a.create({ name: `import-${name}`, public_key: vector.publicKey });
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(res.json(), {
        keypair: {
          name: `import-${name}`,
          public_key: vector.publicKey,
          fingerprint: vector.fingerprint,
          user_id: 'alice',
          type: 'ssh',
        },
      });
      assert.equal((await a.delete(`import-${name}`)).statusCode, 204);
    }
  });

  it('2.2: x509 pairs, imported (SHA-1 fingerprint) or generated, shown with their type', async () => {
    const a = api('alice', '2.2');
    const imported = await a.create({ name: 'cert', type: 'x509', public_key: X509_VECTOR.certificate });
    assert.equal(imported.statusCode, 201);
    assert.equal(imported.json().keypair.fingerprint, X509_VECTOR.fingerprint);
    const shown = (await a.show('cert')).json().keypair;
    assert.equal(shown.type, 'x509');
    assert.match(shown.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const generated = (await a.create({ name: 'winrm', type: 'x509' })).json().keypair;
    assert.match(generated.public_key, /^-----BEGIN CERTIFICATE-----/);
    assert.ok(Buffer.from(generated.private_key, 'base64').length > 100, 'a base64 PKCS#12');
    const listed = (await a.list())
      .json()
      .keypairs.map((k: { keypair: { name: string; type: string } }) => [k.keypair.name, k.keypair.type]);
    assert.deepEqual(listed, [
      ['cert', 'x509'],
      ['winrm', 'x509'],
    ]);
    // A type the schema does not know; an ssh key given as a certificate.
    assert.equal((await a.create({ name: 'bad', type: 'pgp', public_key: 'x' })).statusCode, 400);
    const wrong = await a.create({ name: 'bad', type: 'x509', public_key: ED25519.publicKey });
    assert.equal(wrong.statusCode, 400);
    assert.match(fault(wrong).message, /^Keypair data is invalid: failed to generate X509 fingerprint: /);
    for (const name of ['cert', 'winrm']) assert.equal((await a.delete(name)).statusCode, 204);
  });

  it('refuses a bad public key with the reason, and a duplicate name with 409; neither writes', async () => {
    const a = api('alice', '2.2');
    const bad = await a.create({ name: 'bad', public_key: 'ssh-rsa AAAAB3NzaC1yc2E= me' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(fault(bad), {
      name: 'badRequest',
      code: 400,
      message: 'Keypair data is invalid: failed to generate fingerprint: the key data ends in the middle of a field',
    });
    assert.equal((await a.show('bad')).statusCode, 404);

    assert.equal((await a.create({ name: 'dup', public_key: ED25519.publicKey })).statusCode, 201);
    const dup = await a.create({ name: 'dup', public_key: SSH_KEY_VECTORS.rsa.publicKey });
    assert.equal(dup.statusCode, 409);
    assert.deepEqual(fault(dup), { name: 'conflictingRequest', code: 409, message: "Key pair 'dup' already exists." });
    assert.equal((await a.show('dup')).json().keypair.fingerprint, ED25519.fingerprint);
    // Generation too (before the key is made or after, the answer is the same).
    assert.equal((await a.create({ name: 'dup' })).statusCode, 409);
    // Key pairs are per user: bob may use the name, and does not see alice's.
    const b = api('bob', '2.2');
    assert.equal((await b.create({ name: 'dup', public_key: SSH_KEY_VECTORS.rsa.publicKey })).statusCode, 201);
    assert.equal((await b.show('dup')).json().keypair.fingerprint, SSH_KEY_VECTORS.rsa.fingerprint);
    assert.deepEqual(names(await b.list()), ['dup']);
    await a.delete('dup');
    await b.delete('dup');
  });

  it('applies the name rules of each version', async () => {
    const at21 = api('alice', '2.91');
    for (const name of ['a.b', 'a@b', ' lead', 'trail ', '', 'x'.repeat(256), 'a/b']) {
      const res = await at21.create({ name, public_key: ED25519.publicKey });
      assert.equal(res.statusCode, 400, `${JSON.stringify(name)} at 2.91`);
      assert.match(fault(res).message, /field\/attribute keypair\.name/);
    }
    const ok21 = await at21.create({ name: 'My key_1-a', public_key: ED25519.publicKey });
    assert.equal(ok21.statusCode, 201);
    const at292 = api('alice', '2.92');
    const wide = 'me.and.myself@this.nice.domain.com mooh.';
    assert.equal((await at292.create({ name: wide, public_key: ED25519.publicKey })).statusCode, 201);
    assert.equal((await at292.show(wide)).json().keypair.name, wide);
    for (const name of ['a/b', 'a:b', ' lead']) {
      assert.equal((await at292.create({ name, public_key: ED25519.publicKey })).statusCode, 400, name);
    }
    await at292.delete(wide);
    await at292.delete('My key_1-a');
  });

  it('2.92: the public key is required and no private key is returned', async () => {
    const a = api('alice', '2.92');
    const generate = await a.create({ name: 'gen' });
    assert.equal(generate.statusCode, 400);
    assert.match(fault(generate).message, /'public_key' is a required property/);
    const imported = await a.create({ name: 'imp', public_key: ED25519.publicKey });
    assert.equal(imported.statusCode, 201);
    assert.equal('private_key' in imported.json().keypair, false);
    assert.equal((await a.delete('imp')).statusCode, 204);
  });

  it('2.10: admins act for another user; others may name only themselves', async () => {
    const admin = api('admin', '2.10');
    const made = await admin.create({ name: 'for-alice', public_key: ED25519.publicKey, user_id: 'alice' });
    assert.equal(made.statusCode, 201);
    assert.equal(made.json().keypair.user_id, 'alice');
    const alice = api('alice', '2.10');
    assert.deepEqual(names(await alice.list()), ['for-alice']);
    assert.deepEqual(names(await admin.list()), [], "the admin's own list");
    assert.deepEqual(names(await admin.list('?user_id=alice')), ['for-alice']);
    assert.equal((await admin.show('for-alice', '?user_id=alice')).json().keypair.user_id, 'alice');
    assert.equal((await admin.show('for-alice')).statusCode, 404);

    // A member naming itself is fine; naming anyone else is refused with Nova's policy message.
    assert.equal((await alice.show('for-alice', '?user_id=alice')).statusCode, 200);
    const forBob = await alice.create({ name: 'x', public_key: ED25519.publicKey, user_id: 'bob' });
    assert.equal(forBob.statusCode, 403);
    assert.deepEqual(fault(forBob), {
      name: 'forbidden',
      code: 403,
      message: "Policy doesn't allow os_compute_api:os-keypairs:create to be performed.",
    });
    assert.equal((await alice.list('?user_id=bob')).statusCode, 403);
    assert.equal((await alice.show('for-alice', '?user_id=bob')).statusCode, 403);
    assert.equal((await alice.delete('for-alice', '?user_id=bob')).statusCode, 403);

    // Before 2.10 the body may not name a user, and a user_id query parameter is ignored.
    const old = api('admin', '2.9');
    const refused = await old.create({ name: 'x', public_key: ED25519.publicKey, user_id: 'alice' });
    assert.equal(refused.statusCode, 400);
    assert.deepEqual(names(await old.list('?user_id=alice')), []);
    assert.equal((await admin.delete('for-alice', '?user_id=alice')).statusCode, 204);
    assert.deepEqual(names(await alice.list()), []);
  });

  it('2.35: pages by name with limit and marker, capped by osapi_max_limit, with a next link', async () => {
    const a = api('bob', '2.35');
    for (const name of ['p4', 'p2', 'p5', 'p1', 'p3']) {
      assert.equal((await a.create({ name, public_key: ED25519.publicKey })).statusCode, 201);
    }
    const first = await a.list('?limit=2');
    assert.deepEqual(names(first), ['p1', 'p2']);
    assert.deepEqual(first.json().keypairs_links, [
      { rel: 'next', href: 'http://localhost:80/v2.1/os-keypairs?limit=2&marker=p2' },
    ]);
    const second = await a.list('?limit=2&marker=p2');
    assert.deepEqual(names(second), ['p3', 'p4']);
    const last = await a.list('?limit=2&marker=p4');
    assert.deepEqual(names(last), ['p5']);
    assert.equal('keypairs_links' in last.json(), false);
    // No limit: osapi_max_limit (3) a page.
    const capped = await a.list();
    assert.deepEqual(names(capped), ['p1', 'p2', 'p3']);
    assert.match(capped.json().keypairs_links[0].href, /\?marker=p3$/);
    assert.deepEqual(names(await a.list('?limit=100')), ['p1', 'p2', 'p3']);

    const unknown = await a.list('?marker=nope');
    assert.equal(unknown.statusCode, 400);
    assert.equal(fault(unknown).message, 'Marker nope could not be found.');
    assert.equal((await a.list('?limit=-1')).statusCode, 400);
    assert.equal((await a.list('?limit=two')).statusCode, 400);
    // Before 2.35 there is no paging: every key pair, limit and marker ignored.
    assert.deepEqual(names(await api('bob', '2.34').list('?limit=1&marker=nope')), ['p1', 'p2', 'p3', 'p4', 'p5']);
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) await a.delete(name);
  });

  it('2.75: refuses unknown query parameters, which earlier versions ignore', async () => {
    const a = api('alice', '2.75');
    await a.create({ name: 'q', public_key: ED25519.publicKey });
    for (const res of [await a.list('?sort_key=name'), await a.show('q', '?foo=1'), await a.delete('q', '?foo=1')]) {
      assert.equal(res.statusCode, 400);
      assert.match(fault(res).message, /Additional properties are not allowed \('(sort_key|foo)' was unexpected\)/);
    }
    // The list takes limit and marker, show and delete do not.
    assert.equal((await a.list('?limit=1&marker=q&user_id=alice')).statusCode, 200);
    assert.equal((await a.show('q', '?limit=1')).statusCode, 400);
    const older = api('alice', '2.74');
    assert.equal((await older.list('?sort_key=name')).statusCode, 200);
    assert.equal((await older.show('q', '?foo=1')).statusCode, 200);
    assert.equal((await older.delete('q', '?foo=1')).statusCode, 204);
  });

  it('is reachable under the project-id prefix too, and needs a token', async () => {
    const res = await client(h.app, 'alice', '2.2').get('/v2.1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/os-keypairs');
    assert.equal(res.statusCode, 200);
    assert.equal((await client(h.app, 'nobody').get('/v2.1/os-keypairs')).statusCode, 401);
  });
});
