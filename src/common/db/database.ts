/**
 * Opens the database named by `[database] connection` with the Kysely dialect for it. Each engine is set
 * up so rows read the same everywhere: integers (COUNT, SUM, BIGINT) arrive as numbers, not strings.
 */
import { mkdirSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { dirname } from 'node:path';
import {
  CompiledQuery,
  Kysely,
  MysqlDialect,
  PostgresDialect,
  SqliteDialect,
  sql,
  type Driver,
  type LogEvent,
} from 'kysely';
import { DatabaseError } from '../errors.ts';
import { getLogger } from '../log/logger.ts';
import { describeTarget, parseConnectionUrl, type DatabaseTarget, type Dialect } from './connection-url.ts';
import type { Schema } from './schema.ts';
import { patientMysqlPool, patientPostgresPool, type ReconnectPolicy } from './reconnect.ts';
import { startCheckpointer, type Checkpointer } from './sqlite-checkpointer.ts';
import { withJsRows } from './sqlite-rows.ts';

export type Db = Kysely<Schema>;

export interface Database {
  readonly db: Db;
  readonly dialect: Dialect;
  readonly description: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  maxPoolSize?: number;
  /**
   * Connection attempts before giving up while the server refuses connections: at start-up, for a
   * database that is still starting, and at any time after, for one that restarts (reconnect.ts).
   */
  maxRetries?: number;
  retryIntervalMs?: number;
  /**
   * SQLite only: checkpoint the write-ahead log in a worker thread, off the event loop
   * (sqlite-checkpointer.ts). For a service's long-lived database; it costs a thread and about 15 MiB.
   */
  checkpointInBackground?: boolean;
}

const log = getLogger('db');

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  const target = parseConnectionUrl(url);
  const description = describeTarget(target);
  // Set from the dialect's callback, which TypeScript's narrowing does not follow: hence a holder.
  const background: { checkpointer?: Checkpointer } = {};
  const patience = { retries: options.maxRetries ?? 0, intervalMs: options.retryIntervalMs ?? 1000 };
  const db = new Kysely<Schema>({
    dialect: await createDialect(target, options.maxPoolSize ?? 5, patience, (database, path) => {
      if (options.checkpointInBackground) background.checkpointer = startCheckpointer(database, path);
    }),
    // STRATUS_LOG_LEVEL=trace logs every statement with its time: what to look at when a flow is slow.
    ...(log.isLevelEnabled('trace')
      ? {
          log: (event: LogEvent) =>
            log.trace({ sql: event.query.sql, ms: Math.round(event.queryDurationMillis * 100) / 100 }, 'query'),
        }
      : {}),
  });
  // A server that is not up yet is waited for by the pool itself (reconnect.ts), as at any later time.
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await background.checkpointer?.stop();
    await db.destroy().catch(() => undefined);
    throw new DatabaseError(`cannot connect to ${description}: ${(err as Error).message}. ${howToStart(target)}`);
  }
  const close = async () => {
    await background.checkpointer?.stop();
    await db.destroy();
  };
  return { db, dialect: target.dialect, description, close };
}

/** `onSqliteFile`: called with the connection to a SQLite file, once it is in WAL mode. */
async function createDialect(
  target: DatabaseTarget,
  maxPoolSize: number,
  patience: ReconnectPolicy,
  onSqliteFile: (database: BetterSqlite3.Database, path: string) => void,
) {
  switch (target.dialect) {
    case 'sqlite': {
      const { default: SQLite } = await import('better-sqlite3');
      if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
      const database = new SQLite(target.path);
      database.pragma('journal_mode = WAL');
      // Short: better-sqlite3 waits for a busy database synchronously, blocking the event loop, and a
      // writer in this same process (another connection on the file) cannot finish meanwhile. A busy
      // transaction fails fast instead and retryOnLockConflict runs it again after an async pause.
      database.pragma('busy_timeout = 250');
      database.pragma('synchronous = NORMAL');
      if (target.path !== ':memory:') onSqliteFile(database, target.path);
      return new ImmediateSqliteDialect({ database: withJsRows(database) });
    }
    case 'mysql': {
      const { createPool } = await import('mysql2');
      const pool = createPool({
        host: target.host,
        port: target.port,
        user: target.user,
        password: target.password,
        database: target.database,
        connectionLimit: maxPoolSize,
        supportBigNumbers: true,
        decimalNumbers: true,
        timezone: 'Z',
      });
      return new MysqlDialect({ pool: patientMysqlPool(pool, patience) });
    }
    case 'postgres': {
      const { default: pg } = await import('pg');
      pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
      pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));
      const pool = new pg.Pool({
        host: target.host,
        port: target.port,
        user: target.user,
        password: target.password,
        database: target.database,
        max: maxPoolSize,
      });
      // An idle connection the server ends (restart, pg_terminate_backend) is an 'error' event on the
      // pool; unheard, it would crash the process. The pool replaces the connection on next use.
      pool.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL connection lost'));
      return new PostgresDialect({ pool: patientPostgresPool(pool, patience) });
    }
  }
}

/**
 * SQLite transactions that take the write lock at BEGIN (BEGIN IMMEDIATE). A deferred transaction reads
 * first and asks for the write lock at its first write; if another connection (another process on the
 * same file) committed meanwhile, SQLite refuses at once with SQLITE_BUSY instead of waiting, and under
 * steady contention even retried transactions keep losing. Taking the lock first makes them wait
 * (briefly, busy_timeout, then again through retryOnLockConflict) and run one writer at a time, which is
 * all SQLite admits anyway.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

function howToStart(target: DatabaseTarget): string {
  switch (target.dialect) {
    case 'sqlite':
      return 'Check that the directory is writable.';
    case 'mysql':
      return 'Is MariaDB running? Start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd';
    case 'postgres':
      return 'Is PostgreSQL running? Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
  }
}
