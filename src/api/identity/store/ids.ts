/** Ids of identity resources, in Keystone's form: a uuid4 as 32 hex digits. */
import { randomUUID } from 'node:crypto';

export function newIdentityId(): string {
  return randomUUID().replace(/-/g, '');
}
