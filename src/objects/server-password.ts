/**
 * The encrypted password of a server: what the guest posts to the metadata service once it has set its
 * administrator's password, encrypted with the server's public key (only the key's owner can read it).
 * Nova keeps it in four system metadata items of 255 characters; one column here, the same limit.
 */
import type { Db } from '../common/db/database.ts';
import { BadRequest, Conflict, NotFound } from '../common/errors.ts';

/** Nova's limit: four chunks of 255 characters. */
export const MAX_PASSWORD_LENGTH = 4 * 255;

/** The server's encrypted password, '' when none was posted (or it was cleared). */
export async function serverPassword(db: Db, uuid: string): Promise<string> {
  const row = await db
    .selectFrom('instances')
    .select('server_password')
    .where('uuid', '=', uuid)
    .where('deleted', '=', 0)
    .executeTakeFirst();
  if (!row) throw new NotFound(`Instance ${uuid} could not be found.`);
  return row.server_password ?? '';
}

/**
 * Records the password the guest posts, once: a server that has one refuses another (409) until a user
 * clears it, as Nova's metadata service does; one longer than Nova's limit is a 400. For the metadata
 * service. The check and the write are one statement, so two posts racing cannot both succeed.
 */
export async function setServerPasswordOnce(db: Db, uuid: string, password: string): Promise<void> {
  if (password.length > MAX_PASSWORD_LENGTH) throw new BadRequest('Request is too large.');
  const result = await db
    .updateTable('instances')
    .set({ server_password: password })
    .where('uuid', '=', uuid)
    .where('deleted', '=', 0)
    .where((eb) => eb.or([eb('server_password', 'is', null), eb('server_password', '=', '')]))
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) > 0) return;
  await serverPassword(db, uuid); // NotFound when the server is gone
  throw new Conflict(`Instance ${uuid} already has a password; clear it first.`);
}

/** Forgets the encrypted password (the guest's own password is unchanged), so the guest may post anew. */
export async function clearServerPassword(db: Db, uuid: string): Promise<void> {
  await db
    .updateTable('instances')
    .set({ server_password: null })
    .where('uuid', '=', uuid)
    .where('deleted', '=', 0)
    .execute();
}
