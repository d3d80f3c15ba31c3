/**
 * Telling a database connection lost under a statement (DBConnectionError to an RPC caller, worth
 * another try) from any other error, for both drivers: mysql2 marks its own `fatal`; node-postgres raises
 * bare socket errors and "Connection terminated unexpectedly" with no SQLSTATE, which the PostgreSQL
 * pool marks. Then on the machine's servers: a backend killed under a statement and between two
 * statements of a transaction, and the pool carrying on with a fresh connection.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import { openDatabase, type Database } from '../../../src/common/db/database.ts';
import { patientPostgresPool } from '../../../src/common/db/reconnect.ts';
import { isDatabaseConnectionLost, isPostgresConnectionLoss } from '../../../src/common/database-errors.ts';
import { serializeFailure } from '../../../src/common/rpc/failure.ts';
import { MARIADB_URL, POSTGRES_URL } from '../../helpers/database.ts';

const error = (message: string, props: Record<string, unknown> = {}): Error => Object.assign(new Error(message), props);

/** node-postgres's server-reported error: a SQLSTATE code and a severity. */
const serverError = (message: string, code: string, severity = 'ERROR'): Error =>
  error(message, { code, severity, name: 'error' });

describe('isDatabaseConnectionLost: MariaDB (mysql2)', () => {
  it('counts what mysql2 raises for a connection the server closed, reset or killed', () => {
    for (const err of [
      error('Connection lost: The server closed the connection.', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }),
      error("Can't add new command when connection is in closed state", { fatal: true }),
      error('This socket has been ended by the other party', { code: 'EPIPE', fatal: true }),
      error('read ECONNRESET', { code: 'ECONNRESET', errno: -104, syscall: 'read', fatal: true }),
      error('Server shutdown in progress', { code: 'ER_SERVER_SHUTDOWN', errno: 1053 }),
    ]) {
      assert.ok(isDatabaseConnectionLost(err), err.message);
      assert.equal(serializeFailure(err).class, 'DBConnectionError', err.message);
    }
  });

  it('leaves a statement the server refused or interrupted (the connection lives on)', () => {
    for (const err of [
      error('Query execution was interrupted', { code: 'ER_QUERY_INTERRUPTED', errno: 1317, sqlState: '70100' }),
      error("Duplicate entry 'x' for key 'name'", { code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' }),
    ]) {
      assert.equal(isDatabaseConnectionLost(err), false, err.message);
    }
  });
});

describe('isPostgresConnectionLoss: PostgreSQL (node-postgres)', () => {
  it('counts the socket errors and closed-connection errors that carry no SQLSTATE', () => {
    for (const err of [
      error('Connection terminated unexpectedly'),
      error('Client has encountered a connection error and is not queryable'),
      error('Client was closed and is not queryable'),
      error('read ECONNRESET', { code: 'ECONNRESET', errno: -104, syscall: 'read' }),
      error('write EPIPE', { code: 'EPIPE', errno: -32, syscall: 'write' }),
      serverError('terminating connection due to administrator command', '57P01', 'FATAL'),
    ]) {
      assert.ok(isPostgresConnectionLoss(err), err.message);
    }
  });

  it('leaves what the server reported and what the caller got wrong', () => {
    for (const err of [
      serverError('duplicate key value violates unique constraint "x"', '23505'),
      serverError('canceling statement due to statement timeout', '57014'),
      new TypeError('Query values must be an array'),
      error('Query read timeout'),
    ]) {
      assert.equal(isPostgresConnectionLoss(err), false, err.message);
    }
  });

  it("a bare socket error is no database's until the PostgreSQL pool raised it", () => {
    // Another client's (an HTTP request reset): not a lost database connection.
    const reset = error('read ECONNRESET', { code: 'ECONNRESET', syscall: 'read' });
    assert.equal(isDatabaseConnectionLost(reset), false);
  });
});

describe('patientPostgresPool: connection-loss errors marked, their clients dropped', () => {
  /** A pool of one fake client whose next statement fails with `failure`; records what release gets. */
  function fakePool(failure: Error): { pool: PostgresPool; released: unknown[] } {
    const released: unknown[] = [];
    const client = {
      query: () => Promise.reject(failure),
      release: (err?: unknown) => released.push(err),
      on: () => undefined,
    };
    const pool = { connect: async () => client as unknown as PostgresPoolClient, end: async () => undefined };
    return { pool: patientPostgresPool(pool, { retries: 0, intervalMs: 1 }), released };
  }

  for (const failure of [
    error('Connection terminated unexpectedly'),
    error('read ECONNRESET', { code: 'ECONNRESET', syscall: 'read' }),
  ]) {
    it(`names "${failure.message}" a lost connection and drops its client`, async () => {
      const { pool, released } = fakePool(failure);
      const client = await pool.connect();
      const err = await client.query('select 1', []).then(
        () => assert.fail('the statement succeeded'),
        (e: unknown) => e,
      );
      assert.ok(isDatabaseConnectionLost(err));
      assert.equal(serializeFailure(err).class, 'DBConnectionError');
      client.release();
      assert.deepEqual(released, [failure], 'released with its error, so that pg-pool removes it');
    });
  }

  it('passes a server-reported error on as it is and keeps the client', async () => {
    const failure = serverError('duplicate key value violates unique constraint "x"', '23505');
    const { pool, released } = fakePool(failure);
    const client = await pool.connect();
    await assert.rejects(client.query('insert', []), (e: unknown) => {
      assert.equal(isDatabaseConnectionLost(e), false);
      return true;
    });
    client.release();
    assert.deepEqual(released, [undefined]);
  });
});

/**
 * The machine's servers (not private ones: nothing here stops a server, only one connection of the
 * test's own is killed from another).
 */
const SERVERS = [
  {
    name: 'PostgreSQL',
    url: `${POSTGRES_URL}/postgres`,
    pid: 'select pg_backend_pid() as id',
    sleep: sql`select pg_sleep(30)`,
    kill: (id: number) => sql`select pg_terminate_backend(${id})`,
  },
  {
    name: 'MariaDB',
    url: `${MARIADB_URL}/test`,
    pid: 'select connection_id() as id',
    sleep: sql`select sleep(30)`,
    kill: (id: number) => sql.raw(`KILL CONNECTION ${id}`),
  },
];

for (const server of SERVERS) {
  describe(`a ${server.name} connection killed by the server`, () => {
    const open: Database[] = [];
    after(async () => {
      for (const database of open) await database.close().catch(() => undefined);
    });

    async function connect(): Promise<Database> {
      // One connection, so that a dead one handed out again would fail the next statement too.
      const database = await openDatabase(server.url, { maxPoolSize: 1, maxRetries: 0 });
      open.push(database);
      return database;
    }

    const backend = async (database: Database): Promise<number> =>
      Number((await sql<{ id: number }>`${sql.raw(server.pid)}`.execute(database.db)).rows[0]!.id);

    function assertLost(err: unknown): true {
      assert.ok(isDatabaseConnectionLost(err), `a raw error: ${String(err)}`);
      assert.equal(serializeFailure(err).class, 'DBConnectionError');
      return true;
    }

    it('fails a statement in flight as a lost connection, and the next one runs on a new connection', async () => {
      const [database, admin] = await Promise.all([connect(), connect()]);
      const id = await backend(database);
      // Awaited from the start: the kill may fail it before the wait below is over.
      const cut = assert.rejects(server.sleep.execute(database.db), assertLost);
      // Killed before or while it runs: either way the statement is cut.
      await new Promise((r) => setTimeout(r, 200));
      await server.kill(id).execute(admin.db);
      await cut;
      assert.notEqual(await backend(database), id, 'the dead connection was handed out again');
    });

    it('fails the next statement of a transaction whose connection was killed between statements', async () => {
      const [database, admin] = await Promise.all([connect(), connect()]);
      const id = await backend(database);
      await assert.rejects(
        database.db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          await server.kill(id).execute(admin.db);
          await new Promise((r) => setTimeout(r, 200));
          await sql`select 2`.execute(trx);
        }),
        assertLost,
      );
      assert.notEqual(await backend(database), id, 'the dead connection was handed out again');
    });
  });
}
