/**
 * Password hashing with scrypt: slow and memory-hard, so a leaked users table is expensive to crack.
 * The stored string carries algorithm, parameters and salt (`scrypt$N$r$p$salt$hash`), so the cost can be
 * raised later without invalidating existing passwords.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const ALGORITHM = 'scrypt';
/**
 * The work factor as keystone's `[identity] password_hash_rounds` gives it for scrypt: log2 of N.
 * 2^15 × r=8 needs 32 MiB and tens of milliseconds per hash: cheap for a login, dear for a cracker.
 */
export const DEFAULT_HASH_ROUNDS = 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * A new stored form of `password`, at 2^`rounds` (the configured `[identity] password_hash_rounds`). The
 * stored string keeps its own parameters, so changing the option later affects new passwords only.
 */
export async function hashPassword(password: string, rounds = DEFAULT_HASH_ROUNDS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const params = { N: 2 ** rounds, r: BLOCK_SIZE, p: PARALLELISM };
  const key = await derive(password, salt, params);
  const { N, r, p } = params;
  return [ALGORITHM, N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `password` matches `stored`; false for a wrong password or a malformed stored value. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== ALGORITHM) return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const actual = await derive(password, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

const dummyHashes = new Map<number, Promise<string>>();

/**
 * Spends the same time as checking a real password (one hashed at `rounds`), for logins naming an unknown
 * user: the response time then does not tell which user names exist.
 */
export async function burnPasswordCheck(password: string, rounds = DEFAULT_HASH_ROUNDS): Promise<void> {
  let dummy = dummyHashes.get(rounds);
  if (!dummy) {
    dummy = hashPassword(randomBytes(12).toString('hex'), rounds);
    dummyHashes.set(rounds, dummy);
  }
  await verifyPassword(password, await dummy);
}
