/**
 * Telling a lost or unreachable database connection from other errors, by the error's shape alone (its
 * code, mysql2's `fatal` mark). It lives outside common/db/ on purpose: every service's RPC layer
 * classifies a handler's failure with it (a lost connection reaches the caller as DBConnectionError),
 * and that includes `stratus compute`, which must load no database code (test/cmd/compute-bundle).
 * The pools that ride out restarts (db/reconnect.ts) use the same sets.
 */
/**
 * Codes only database drivers raise: the server shutting down, out of connections, the connection lost
 * (PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections).
 */
const DATABASE_ONLY = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** The server is not there (yet): refused, reset, shutting down, starting up, or out of connections. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', ...DATABASE_ONLY]);

export function isServerUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/**
 * A database connection lost under a statement: a code only drivers use, or an error marked `fatal`
 * (its connection is dead: reset, closed, out of step). mysql2 marks its own; node-postgres marks
 * nothing, so the PostgreSQL pool below marks the errors it raises for a lost connection the same way.
 * A bare socket error is not enough: another client's (an HTTP request reset) is no database outage.
 */
export function isDatabaseConnectionLost(err: unknown): boolean {
  const { code, fatal } = (err ?? {}) as { code?: unknown; fatal?: unknown };
  return fatal === true || (typeof code === 'string' && DATABASE_ONLY.has(code));
}

/**
 * What node-postgres raises when the connection under a statement is gone, with no SQLSTATE to say so:
 * the server closed it (a restart, pg_terminate_backend), the socket was reset or broken, or the client
 * was handed out already dead. A server-reported error (a SQLSTATE code) is the server's to classify.
 */
const PG_CONNECTION_GONE = [
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

export function isPostgresConnectionLoss(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (isServerUnreachable(err)) return true;
  const { code } = err as { code?: unknown };
  return code === undefined && PG_CONNECTION_GONE.includes(err.message);
}
