/**
 * Console tokens (Nova's ConsoleAuthToken): the API issues one with each console URL, the console proxy
 * consumes it when the browser connects. A token opens one connection: consuming deletes its row, and
 * of two connections racing with the same token only the one whose delete removed the row gets through.
 * Tokens expire after `[consoleauth] token_ttl`, die with their instance, and are stored as SHA-256 only.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../common/db/database.ts';
import { now } from '../common/db/schema.ts';

export interface ConsoleConnection {
  readonly instanceUuid: string;
  readonly consoleType: string;
  /** The compute host's console address the proxy connects to. */
  readonly host: string;
  readonly port: number;
}

export interface IssuedConsoleToken {
  readonly token: string;
  readonly expires: string;
  /** The URL to hand to the user: the access URL base with the token as noVNC's websocket path. */
  readonly url: string;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * noVNC reads the websocket path from its `path` parameter; the proxy reads the token from that path.
 * `autoconnect=true` (unless the base says otherwise) makes noVNC's full page (vnc.html, which Debian's
 * vnc_auto.html links to) open straight onto the screen, as vnc_lite.html always does, not on a Connect button.
 */
export function consoleUrl(accessUrlBase: string, token: string): string {
  const query = accessUrlBase.includes('?') ? accessUrlBase.slice(accessUrlBase.indexOf('?') + 1) : null;
  const autoconnect = query !== null && new URLSearchParams(query).has('autoconnect') ? '' : 'autoconnect=true&';
  return `${accessUrlBase}${query === null ? '?' : '&'}${autoconnect}path=${encodeURIComponent(`?token=${token}`)}`;
}

/** Issues a token for `connection`, valid `ttlSec` seconds; expired tokens of any instance go on the way. */
export async function issueConsoleToken(
  db: Db,
  connection: ConsoleConnection,
  accessUrlBase: string,
  ttlSec: number,
): Promise<IssuedConsoleToken> {
  const issuedAt = now();
  await db.deleteFrom('console_auth_tokens').where('expires', '<=', issuedAt).execute();
  const token = randomUUID();
  const expires = new Date(Date.parse(issuedAt) + ttlSec * 1000).toISOString();
  await db
    .insertInto('console_auth_tokens')
    .values({
      token_hash: hashToken(token),
      console_type: connection.consoleType,
      host: connection.host,
      port: connection.port,
      instance_uuid: connection.instanceUuid,
      access_url_base: accessUrlBase,
      expires,
      created_at: issuedAt,
    })
    .execute();
  return { token, expires, url: consoleUrl(accessUrlBase, token) };
}

/**
 * The connection `token` grants, used up by this call; null for a token that is unknown, already used,
 * expired, or whose instance is deleted.
 */
export async function consumeConsoleToken(db: Db, token: string): Promise<ConsoleConnection | null> {
  const row = await db
    .selectFrom('console_auth_tokens as t')
    .innerJoin('instances as i', 'i.uuid', 't.instance_uuid')
    .select(['t.id', 't.console_type', 't.host', 't.port', 't.instance_uuid', 't.expires'])
    .where('t.token_hash', '=', hashToken(token))
    .where('i.deleted', '=', 0)
    .executeTakeFirst();
  if (!row) return null;
  const deleted = await db.deleteFrom('console_auth_tokens').where('id', '=', row.id).executeTakeFirst();
  // Another connection consumed it between our read and our delete.
  if (Number(deleted.numDeletedRows) !== 1) return null;
  if (row.expires <= now()) return null;
  return { instanceUuid: row.instance_uuid, consoleType: row.console_type, host: row.host, port: row.port };
}

/**
 * The connection `token` grants, read without using it up (os-console-auth-tokens, for operators); null
 * for a token that is unknown, already used, expired, or whose instance is deleted.
 */
export async function findConsoleToken(db: Db, token: string): Promise<ConsoleConnection | null> {
  const row = await db
    .selectFrom('console_auth_tokens as t')
    .innerJoin('instances as i', 'i.uuid', 't.instance_uuid')
    .select(['t.console_type', 't.host', 't.port', 't.instance_uuid'])
    .where('t.token_hash', '=', hashToken(token))
    .where('t.expires', '>', now())
    .where('i.deleted', '=', 0)
    .executeTakeFirst();
  return row
    ? { instanceUuid: row.instance_uuid, consoleType: row.console_type, host: row.host, port: row.port }
    : null;
}

/** Invalidates every token of the instance (it is deleted, or its console moved). */
export async function deleteConsoleTokensForInstance(db: Db, instanceUuid: string): Promise<void> {
  await db.deleteFrom('console_auth_tokens').where('instance_uuid', '=', instanceUuid).execute();
}
