import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from '../../../src/api/auth/password-hash.ts';

test('a hash verifies its password and no other', async () => {
  const stored = await hashPassword('correct horse');
  assert.equal(await verifyPassword('correct horse', stored), true);
  assert.equal(await verifyPassword('correct horsf', stored), false);
  assert.equal(await verifyPassword('', stored), false);
});

test('the stored form names algorithm and parameters, and salts every hash', async () => {
  const a = await hashPassword('same');
  const b = await hashPassword('same');
  assert.match(a, /^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  assert.notEqual(a, b);
});

test('parameters are read from the stored string, so older costs keep working', async () => {
  const stored = await hashPassword('pw');
  const parts = stored.split('$');
  assert.equal(await verifyPassword('pw', parts.join('$')), true);
  // A tampered cost gives a different key: refused, not an error.
  parts[1] = '16384';
  assert.equal(await verifyPassword('pw', parts.join('$')), false);
});

test('[identity] password_hash_rounds sets N of new hashes; hashes of any cost verify', async () => {
  const cheap = await hashPassword('pw', 10);
  assert.match(cheap, /^scrypt\$1024\$8\$1\$/);
  assert.equal(await verifyPassword('pw', cheap), true);
  assert.equal(await verifyPassword('pw', await hashPassword('pw')), true);
});

test('malformed stored values are refused without throwing', async () => {
  for (const stored of ['', 'plain', 'bcrypt$1$2$3$4$5', 'scrypt$x$8$1$AA$BB', 'scrypt$16384$8$1$AAAA$short']) {
    assert.equal(await verifyPassword('pw', stored), false, stored);
  }
});

test('unicode passwords are normalized, so composed and decomposed forms match', async () => {
  const stored = await hashPassword('caf\u00e9');
  assert.equal(await verifyPassword('cafe\u0301', stored), true);
});
