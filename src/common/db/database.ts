/**
 * Opens the database named by `[database] connection` with the Kysely dialect for it. Each engine is set
 * up so rows read the same everywhere: integers (COUNT, SUM, BIGINT) arrive as numbers, not strings.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql, type LogEvent } from 'kysely';
import { DatabaseError } from '../errors.ts';
import { getLogger } from '../log/logger.ts';
import { describeTarget, parseConnectionUrl, type DatabaseTarget, type Dialect } from './connection-url.ts';
import type { Schema } from './schema.ts';

export type Db = Kysely<Schema>;

export interface Database {
  readonly db: Db;
  readonly dialect: Dialect;
  readonly description: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  maxPoolSize?: number;
  /** Connection attempts before giving up, for a database that is still starting. */
  maxRetries?: number;
  retryIntervalMs?: number;
}

const log = getLogger('db');

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  const target = parseConnectionUrl(url);
  const description = describeTarget(target);
  const db = new Kysely<Schema>({
    dialect: await createDialect(target, options.maxPoolSize ?? 5),
    // STRATUS_LOG_LEVEL=trace logs every statement with its time: what to look at when a flow is slow.
    ...(log.isLevelEnabled('trace')
      ? {
          log: (event: LogEvent) =>
            log.trace({ sql: event.query.sql, ms: Math.round(event.queryDurationMillis * 100) / 100 }, 'query'),
        }
      : {}),
  });
  const attempts = (options.maxRetries ?? 0) + 1;
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`select 1`.execute(db);
      break;
    } catch (err) {
      if (attempt >= attempts) {
        await db.destroy().catch(() => undefined);
        throw new DatabaseError(`cannot connect to ${description}: ${(err as Error).message}. ${howToStart(target)}`);
      }
      log.warn({ attempt, err: (err as Error).message }, `database not reachable yet, retrying`);
      await new Promise((r) => setTimeout(r, options.retryIntervalMs ?? 1000));
    }
  }
  return { db, dialect: target.dialect, description, close: () => db.destroy() };
}

async function createDialect(target: DatabaseTarget, maxPoolSize: number) {
  switch (target.dialect) {
    case 'sqlite': {
      const { default: SQLite } = await import('better-sqlite3');
      if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
      const database = new SQLite(target.path);
      database.pragma('journal_mode = WAL');
      database.pragma('busy_timeout = 5000');
      database.pragma('synchronous = NORMAL');
      return new SqliteDialect({ database });
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
      return new MysqlDialect({ pool });
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
      return new PostgresDialect({ pool });
    }
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
