/** A write transaction, run again when the engine reports it lost a lock race (it was rolled back). */
import type { Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { retryOnLockConflict } from '../common/db/lock-conflict.ts';
import type { Schema } from '../common/db/schema.ts';

export function inTransaction<T>(db: Db, work: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
  return retryOnLockConflict(() => db.transaction().execute(work));
}
