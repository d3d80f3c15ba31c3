/** Token and audit ids: random, opaque, and stored only as a hash. */
import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes: unguessable, and carries no data a client could be tempted to parse. */
export function newTokenId(): string {
  return randomBytes(32).toString('base64url');
}

/** The database key of a token: a stolen tokens table holds nothing that authenticates. */
export function hashTokenId(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Keystone's audit ids: 16 random bytes, url-safe base64 without padding (22 characters). */
export function newAuditId(): string {
  return randomBytes(16).toString('base64url');
}
