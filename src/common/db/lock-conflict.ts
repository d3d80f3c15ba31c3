/**
 * The engine's own answer to two transactions racing: SQLite's busy/stale snapshot, a MariaDB deadlock
 * or lock wait timeout, a PostgreSQL serialization failure or deadlock. The transaction was rolled back,
 * so running it again is safe.
 */
const LOCK_CONFLICT_CODES = new Set([
  'SQLITE_BUSY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_LOCKED',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  '40001',
  '40P01',
]);

export function isLockConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && LOCK_CONFLICT_CODES.has(code);
}

/** Runs `work` (a whole transaction) again, after a short random pause, when it lost a lock race. */
export async function retryOnLockConflict<T>(work: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!isLockConflict(err) || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
    }
  }
}
