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
 * A database connection lost under a statement: a driver's unreachable error, told from another
 * client's socket error (an HTTP request refused) by a code only drivers use, or an error mysql2 marks
 * `fatal` (its connection is dead: reset, closed, out of step).
 */
export function isDatabaseConnectionLost(err: unknown): boolean {
  const { code, fatal } = (err ?? {}) as { code?: unknown; fatal?: unknown };
  return fatal === true || (typeof code === 'string' && DATABASE_ONLY.has(code));
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

export function patientPostgresPool(pool: PostgresPool, policy: ReconnectPolicy): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      for (let attempt = 0; ; attempt++) {
        try {
          return await pool.connect();
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
