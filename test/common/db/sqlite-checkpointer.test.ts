import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../../src/common/db/database.ts';

async function waitFor(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SQLite checkpoints in a worker thread', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-checkpointer-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function autocheckpoint(database: Database): Promise<number> {
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db);
    return rows[0]!.wal_autocheckpoint;
  }

  it('copies committed pages into the database file without the committing connection doing it', async () => {
    const path = join(dir, 'background.sqlite');
    const database = await openDatabase(`sqlite:///${path}`, { checkpointInBackground: true });
    try {
      assert.equal(await autocheckpoint(database), 10_000, 'the connection only keeps a safety net');
      await sql`create table t (id integer primary key, v text)`.execute(database.db);
      const before = statSync(path).size;
      // About 400 pages, far below the safety net: only the worker can have copied them.
      for (let i = 0; i < 200; i++) await sql`insert into t (v) values (${'x'.repeat(8000)})`.execute(database.db);
      await waitFor('the database file to receive the pages', () => statSync(path).size > before + 1_000_000);
    } finally {
      await database.close();
    }
  });

  it('gives checkpoints back to the connection when stopped, and is not started unless asked', async () => {
    const path = join(dir, 'plain.sqlite');
    const plain = await openDatabase(`sqlite:///${path}`);
    try {
      assert.equal(await autocheckpoint(plain), 1000, "SQLite's own threshold");
    } finally {
      await plain.close();
    }
    const background = await openDatabase(`sqlite:///${path}`, { checkpointInBackground: true });
    await background.close();
    // Closing twice is harmless, and the process is not held open by the worker (the test ends).
    await background.close().catch(() => undefined);
  });
});
