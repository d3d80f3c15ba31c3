/**
 * Key pairs: a user's named public keys (Nova's KeyPair objects). A name is unique per user, whatever
 * the project; lists are by name, as Nova pages them (marker = the last name of the previous page).
 * The checks of the key itself (fingerprint, generation) are in src/common/keys/.
 */
import type { Db } from '../common/db/database.ts';
import { now, type KeyPairsTable } from '../common/db/schema.ts';
import { conflictOnDuplicate } from '../common/db/unique.ts';
import { BadRequest, NotFound } from '../common/errors.ts';
import type { KeyPairType } from '../common/keys/key-pair-material.ts';

export interface KeyPair extends Omit<KeyPairsTable, 'id' | 'type'> {
  readonly id: number;
  readonly type: KeyPairType;
}

export interface NewKeyPair {
  name: string;
  userId: string;
  type: KeyPairType;
  publicKey: string;
  fingerprint: string;
}

const notFound = (userId: string, name: string) => new NotFound(`Keypair ${name} not found for user ${userId}`);

/** Records a key pair; a name the user already has is Nova's KeyPairExists (409). */
export async function createKeyPair(db: Db, input: NewKeyPair): Promise<KeyPair> {
  await conflictOnDuplicate(
    () =>
      db
        .insertInto('key_pairs')
        .values({
          name: input.name,
          user_id: input.userId,
          type: input.type,
          public_key: input.publicKey,
          fingerprint: input.fingerprint,
          created_at: now(),
          updated_at: null,
        })
        .execute(),
    `Key pair '${input.name}' already exists.`,
  );
  return getKeyPair(db, input.userId, input.name);
}

export async function findKeyPair(db: Db, userId: string, name: string): Promise<KeyPair | null> {
  const row = await db
    .selectFrom('key_pairs')
    .selectAll()
    .where('user_id', '=', userId)
    .where('name', '=', name)
    .executeTakeFirst();
  return (row as KeyPair | undefined) ?? null;
}

/** As findKeyPair, with Nova's KeypairNotFound (404) when there is none. */
export async function getKeyPair(db: Db, userId: string, name: string): Promise<KeyPair> {
  const keyPair = await findKeyPair(db, userId, name);
  if (!keyPair) throw notFound(userId, name);
  return keyPair;
}

export interface KeyPairPage {
  limit?: number;
  /** The name of the last key pair of the previous page; it must be one of the user's (else 400). */
  marker?: string;
}

/** The user's key pairs by name. */
export async function listKeyPairs(db: Db, userId: string, page: KeyPairPage = {}): Promise<KeyPair[]> {
  let query = db.selectFrom('key_pairs').selectAll().where('user_id', '=', userId).orderBy('name').orderBy('id');
  if (page.marker !== undefined) {
    if (!(await findKeyPair(db, userId, page.marker)))
      throw new BadRequest(`Marker ${page.marker} could not be found.`);
    query = query.where('name', '>', page.marker);
  }
  if (page.limit !== undefined) query = query.limit(page.limit);
  return (await query.execute()) as KeyPair[];
}

export async function deleteKeyPair(db: Db, userId: string, name: string): Promise<void> {
  const result = await db
    .deleteFrom('key_pairs')
    .where('user_id', '=', userId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw notFound(userId, name);
}

/**
 * How many key pairs the user has: what the `key_pairs` quota (per user, as in Nova) counts. The check
 * belongs before createKeyPair (count + 1 over the limit: 403 "Quota exceeded, too many key pairs.").
 */
export async function countKeyPairs(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('key_pairs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
