/**
 * Test clouds hash passwords at the lowest work factor `[identity] password_hash_rounds` allows: every
 * login (each `openstack` CLI call makes one) and every user created would otherwise spend the
 * production cost, tens of milliseconds of CPU, which adds up to minutes over the suite. The hashing
 * itself is tested at the default cost in test/api/auth/password-hash.test.ts.
 */
export const FAST_PASSWORD_HASH_ROUNDS = '10';
