/**
 * Recognises a unique-constraint violation on each engine, so creating a duplicate becomes a 409 even when
 * two requests race past the existence check.
 */
import { Conflict } from '../errors.ts';

export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; errno?: unknown };
  return (
    e.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e.code === 'ER_DUP_ENTRY' ||
    e.errno === 1062 ||
    e.code === '23505'
  );
}

/** Runs a write; a unique-constraint violation becomes Conflict with `message`. */
export async function conflictOnDuplicate<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw new Conflict(message);
    throw err;
  }
}
