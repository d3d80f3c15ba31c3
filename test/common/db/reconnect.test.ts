/**
 * A database server that restarts under a running service, on a MariaDB of the test's own
 * (test/helpers/private-services.ts) so that it can be killed with -9: the pool drops the dead
 * connections, work that wants a connection while the server is down waits for it (`maxRetries`,
 * `retryIntervalMs`), and without that budget it fails at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../../src/common/db/database.ts';
import { isServerUnreachable } from '../../../src/common/database-errors.ts';
import { startPrivateMariadb, type PrivateServer } from '../../helpers/private-services.ts';

describe('database server restart (MariaDB)', () => {
  let server: PrivateServer;
  let url: string;
  const open: Database[] = [];

  before(async () => {
    server = await startPrivateMariadb();
    const admin = await openDatabase(`${server.url}/mysql`);
    await sql.raw('CREATE DATABASE stratus_restart').execute(admin.db);
    await admin.close();
    url = `${server.url}/stratus_restart`;
  });

  after(async () => {
    for (const database of open) await database.close().catch(() => undefined);
    await server?.remove();
  });

  async function connect(maxRetries: number): Promise<Database> {
    const database = await openDatabase(url, { maxRetries, retryIntervalMs: 100, maxPoolSize: 3 });
    open.push(database);
    return database;
  }

  const value = async (database: Database, n: number): Promise<number> =>
    Number((await sql<{ n: number }>`select ${n} as n`.execute(database.db)).rows[0]?.n);

  it('waits for the server while it is down, then carries on with fresh connections', async () => {
    const patient = await connect(300);
    const impatient = await connect(0);
    // Three connections open in the pool, which all die with the server.
    assert.deepEqual(await Promise.all([1, 2, 3].map((n) => value(patient, n))), [1, 2, 3]);
    await value(impatient, 0);

    await server.kill();
    let settled = false;
    const waiting = Promise.all([4, 5, 6, 7].map((n) => value(patient, n))).finally(() => {
      settled = true;
    });
    await assert.rejects(value(impatient, 1), (err: unknown) => {
      assert.ok(isServerUnreachable(err), `got ${String(err)}`);
      return true;
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(settled, false, 'the statements did not wait for the server');

    await server.start();
    assert.deepEqual(await waiting, [4, 5, 6, 7]);
    assert.equal(await value(impatient, 8), 8, 'the pool kept a dead connection');
  });
});
