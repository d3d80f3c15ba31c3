/**
 * Riding out a restart of MariaDB or PostgreSQL. The drivers' pools already drop a connection the server
 * closed and open a new one on next use; what they do not do is wait: while the server is down every
 * statement fails at once (ECONNREFUSED), and an RPC handler or periodic task in the middle of its work
 * would give up. Here, getting a connection from the pool is tried again while the server refuses
 * connections, `[database] max_retries` times `retry_interval` apart (the same budget as at start-up),
 * so work that had not sent a statement yet simply waits for the server.
 *
 * Only connecting is retried: a statement that was in flight when the server died fails (its outcome is
 * unknown: a COMMIT may have been applied), and the caller's own idempotence or the watchdogs deal with it.
 * Such a failure is told apart (isDatabaseConnectionLost) so that it reaches an RPC caller as
 * DBConnectionError, for both drivers alike.
 */
import type { MysqlPool, MysqlPoolConnection, PostgresPool, PostgresPoolClient } from 'kysely';
import { getLogger } from '../log/logger.ts';

const log = getLogger('db');

export interface ReconnectPolicy {
  /** Attempts after the first. */
  retries: number;
  intervalMs: number;
}

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

function warn(attempt: number, policy: ReconnectPolicy, err: unknown): void {
  log.warn(
    { attempt, of: policy.retries, err: (err as Error).message },
    'database server unreachable, waiting for it before trying again',
  );
}

export function patientMysqlPool(pool: MysqlPool, policy: ReconnectPolicy): MysqlPool {
  return {
    getConnection(callback: (error: unknown, connection: MysqlPoolConnection) => void): void {
      let attempt = 0;
      const once = (): void =>
        pool.getConnection((err, connection) => {
          if (err && isServerUnreachable(err) && attempt < policy.retries) {
            attempt += 1;
            warn(attempt, policy, err);
            setTimeout(once, policy.intervalMs);
            return;
          }
          callback(err, connection);
        });
      once();
    },
    end: (callback) => pool.end(callback),
  };
}

/**
 * node-postgres's client, its connection-loss errors marked `fatal` as mysql2 marks its own. One whose
 * connection was lost is given back with the error, so that the pool drops it: released plainly it
 * could be handed out again before the pool saw the socket close, and fail the next statement too.
 * One wrapper per client: Kysely keeps its connection object per client object.
 */
const watched = new WeakMap<PostgresPoolClient, PostgresPoolClient>();

function watchedClient(client: PostgresPoolClient): PostgresPoolClient {
  const known = watched.get(client);
  if (known) return known;
  let lost: Error | undefined;
  // Lost while checked out and between statements (a transaction's connection): node-postgres emits
  // 'error' on the client, which, unheard, would crash the process; the next statement fails marked.
  (client as unknown as { on(event: 'error', listener: (err: Error) => void): void }).on('error', (err) => {
    lost = err;
  });
  const query = (...args: unknown[]): unknown => {
    const result = (client.query as (...a: unknown[]) => unknown)(...args);
    // A cursor (query(cursor)) is handed back as it is; Stratus reads none.
    if (!(result instanceof Promise)) return result;
    return result.catch((err: unknown) => {
      if (isPostgresConnectionLoss(err) || isDatabaseConnectionLost(err)) {
        lost = Object.assign(err as Error, { fatal: true });
      }
      throw err;
    });
  };
  const wrapper: PostgresPoolClient = {
    query: query as PostgresPoolClient['query'],
    release: () => {
      const err = lost;
      lost = undefined;
      // pg-pool's release(err) removes the client; Kysely's type of it takes no argument.
      (client.release as (err?: Error) => void)(err);
    },
  };
  watched.set(client, wrapper);
  return wrapper;
}

export function patientPostgresPool(pool: PostgresPool, policy: ReconnectPolicy): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      for (let attempt = 0; ; attempt++) {
        try {
          return watchedClient(await pool.connect());
        } catch (err) {
          if (!isServerUnreachable(err) || attempt >= policy.retries) throw err;
          warn(attempt + 1, policy, err);
          await new Promise((r) => setTimeout(r, policy.intervalMs));
        }
      }
    },
    end: () => pool.end(),
  };
}
