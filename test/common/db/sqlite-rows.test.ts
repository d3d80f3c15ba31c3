import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { openDatabase } from '../../../src/common/db/database.ts';
import { withJsRows } from '../../../src/common/db/sqlite-rows.ts';

describe("SQLite rows built from better-sqlite3's arrays", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-sqlite-rows-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function withTable(): SQLite.Database {
    const database = new SQLite(':memory:');
    database.exec('create table t (id integer primary key, name text, ratio real, data blob, gone text)');
    database
      .prepare('insert into t (name, ratio, data, gone) values (?, ?, ?, ?)')
      .run('a', 1.5, Buffer.from([1, 2]), null);
    database.prepare('insert into t (name, ratio, data, gone) values (?, ?, ?, ?)').run('b', null, null, 'x');
    return database;
  }

  it("gives the rows better-sqlite3's own objects have, key for key and in order", () => {
    const database = withTable();
    const rows = withJsRows(database);
    for (const text of [
      'select * from t order by id',
      // Two columns of one name: the last value wins, at the first one's place.
      'select id as x, name, name as x from t order by id',
      'select 1 as "__proto__", 2 as "constructor"',
      'select count(*) as n from t',
      'select * from t where id = -1',
    ]) {
      const expected = database.prepare(text).all();
      const got = rows.prepare(text).all([]);
      assert.deepEqual(got, expected, text);
      assert.deepEqual(
        got.map((r) => Object.keys(r as object)),
        expected.map((r) => Object.keys(r as object)),
        text,
      );
      assert.deepEqual([...rows.prepare(text).iterate([])], expected, `${text} (iterated)`);
    }
    database.close();
  });

  it('binds parameters and runs statements that return nothing', () => {
    const database = withTable();
    const rows = withJsRows(database);
    const result = rows.prepare('update t set name = ? where id = ?').run(['c', 2]);
    assert.equal(result.changes, 1);
    assert.deepEqual(rows.prepare('select name from t where id = ?').all([2]), [{ name: 'c' }]);
    database.close();
  });

  it('keeps a statement per text, and runs a text again while its statement is iterated', () => {
    const database = withTable();
    const rows = withJsRows(database);
    const text = 'select name from t order by id';
    assert.equal(rows.prepare(text), rows.prepare(text), 'one statement per text');
    const outer = rows.prepare(text).iterate([]);
    assert.deepEqual(outer.next().value, { name: 'a' });
    // The kept statement is busy with the iteration: this run gets a statement of its own.
    assert.deepEqual(rows.prepare(text).all([]), [{ name: 'a' }, { name: 'b' }]);
    assert.deepEqual(outer.next().value, { name: 'b' });
    assert.equal(outer.next().done, true);
    database.close();
  });

  it('reads the columns again when the schema gains one, here or through another connection', async () => {
    const path = join(dir, 'schema.sqlite');
    const database = await openDatabase(`sqlite:///${path}`);
    const other = new SQLite(path);
    try {
      await sql`create table t (id integer primary key, a text)`.execute(database.db);
      await sql`insert into t (a) values ('x')`.execute(database.db);
      const read = async () => (await sql`select * from t`.execute(database.db)).rows;
      assert.deepEqual(await read(), [{ id: 1, a: 'x' }]);
      await sql`alter table t add column b text default 'y'`.execute(database.db);
      assert.deepEqual(await read(), [{ id: 1, a: 'x', b: 'y' }]);
      other.exec('alter table t add column c integer default 3');
      assert.deepEqual(await read(), [{ id: 1, a: 'x', b: 'y', c: 3 }]);
    } finally {
      other.close();
      await database.close();
    }
  });
});
