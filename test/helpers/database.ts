/**
 * Databases for tests: an in-memory SQLite one, or a fresh, uniquely named database on the machine's
 * MariaDB or PostgreSQL that is dropped again by `close()`. A server that is not running fails the test
 * with the command that starts it; tests never skip silently.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { openDatabase, type Database } from '../../src/common/db/database.ts';
import { syncSchema } from '../../src/common/db/migrator.ts';
import type { Dialect } from '../../src/common/db/connection-url.ts';

export const MARIADB_URL = process.env['STRATUS_TEST_MYSQL_URL'] ?? 'mysql+pymysql://root@127.0.0.1:3306';
export const POSTGRES_URL = process.env['STRATUS_TEST_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432';

export interface TestDatabase extends Database {
  /** The URL tests can give to other processes (`[database] connection`). */
  readonly url: string;
}

/**
 * The server's maintenance database. A connect that times out is tried twice more: on a machine
 * running a whole suite at once, a server's handshake can miss the driver's timeout while the server
 * itself is fine (a server that is not there refuses at once, and fails the first time).
 */
async function openAdmin(url: string): Promise<Database> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openDatabase(url);
    } catch (err) {
      if (attempt >= 3 || !/ETIMEDOUT|timeout/i.test((err as Error).message)) throw err;
    }
  }
}

/** Creates a scratch database on the server and returns its URL. */
export async function createScratchDatabase(
  dialect: Exclude<Dialect, 'sqlite'>,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `stratus_t_${randomBytes(5).toString('hex')}`;
  const server = dialect === 'mysql' ? MARIADB_URL : POSTGRES_URL;
  const admin = await openAdmin(`${server}/${dialect === 'mysql' ? 'test' : 'postgres'}`).catch((err: Error) => {
    throw new Error(
      `${err.message}\n(test databases: set STRATUS_TEST_MYSQL_URL / STRATUS_TEST_POSTGRES_URL to use other servers)`,
    );
  });
  const { sql } = await import('kysely');
  await sql.raw(`CREATE DATABASE ${name}`).execute(admin.db);
  await admin.close();
  return {
    url: `${server}/${name}`,
    drop: async () => {
      const again = await openDatabase(`${server}/${dialect === 'mysql' ? 'test' : 'postgres'}`);
      await sql
        .raw(`DROP DATABASE IF EXISTS ${name}${dialect === 'postgres' ? ' WITH (FORCE)' : ''}`)
        .execute(again.db);
      await again.close();
    },
  };
}

/** A migrated database of the given dialect (default: in-memory SQLite). */
export async function openTestDatabase(dialect: Dialect = 'sqlite'): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const database = await openDatabase('sqlite://');
    await syncSchema(database);
    return { ...database, url: 'sqlite://' };
  }
  const scratch = await createScratchDatabase(dialect);
  const database = await openDatabase(scratch.url);
  await syncSchema(database);
  return {
    ...database,
    url: scratch.url,
    close: async () => {
      await database.close();
      await scratch.drop();
    },
  };
}

/**
 * A migrated SQLite database in a file of its own, removed by `close()`: unlike the in-memory one, other
 * connections (`openDatabase(url)`, as other processes would) share it.
 */
export async function openSharedSqliteDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-db-'));
  const url = `sqlite:///${dir}/s.sqlite`;
  const database = await openDatabase(url);
  await syncSchema(database);
  return {
    ...database,
    url,
    close: async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs a suite once per engine, the engines side by side and each engine's tests in order, on a fresh
 * migrated database that `database()` returns inside the tests.
 */
export function describeOnEachEngine(name: string, suite: (database: () => TestDatabase) => void): void {
  describe(name, { concurrency: true }, () => {
    for (const dialect of ['sqlite', 'mysql', 'postgres'] as const) {
      describe(`on ${dialect}`, { concurrency: 1 }, () => {
        let database: TestDatabase | undefined;
        before(async () => {
          database = await openTestDatabase(dialect);
        });
        after(() => database?.close());
        suite(() => database!);
      });
    }
  });
}
