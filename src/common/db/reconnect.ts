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
import { isDatabaseConnectionLost, isPostgresConnectionLoss, isServerUnreachable } from '../database-errors.ts';
import { getLogger } from '../log/logger.ts';

const log = getLogger('db');

export interface ReconnectPolicy {
  /** Attempts after the first. */
  retries: number;
  intervalMs: number;
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
