/**
 * The SQLite database as Kysely reads it, with rows built in JavaScript from better-sqlite3's raw arrays.
 *
 * Why: better-sqlite3 builds each row object in C++, one property at a time, and that costs more per
 * value than reading the value from SQLite. A slice of 50 servers of GET /servers/detail (every column
 * of `instances`) took 0.8 to 1.7 ms that way against 0.4 to 0.5 ms as arrays made objects here; the
 * detailed list of 600 servers reads a dozen such slices, and their addresses, per request
 * (docs/benchmarks.md, "the server views' addresses").
 *
 * The rows are the same objects: a property per column, in the columns' order, the last of two equal
 * names winning. Reading the column names is itself costly (about 80 µs for `instances`), so they are
 * kept with the statement: a schema change that adds columns gives the rows a new width and the names
 * are read again; DDL run here forgets them all. Stratus's migrations never rename or drop a column.
 *
 * The statements themselves are kept per SQL text too. Kysely prepares each query it runs, and
 * SQLite's compiling of the text was a fifth of the all-in-one's CPU in the boot bench; a kept
 * statement runs again at the cost of binding its parameters. SQLite recompiles a kept statement by
 * itself when the schema changed under it.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** SQL texts whose statements are kept; past this the cache starts again (IN lists vary in length). */
const MAX_KEPT = 2000;

const DDL = /^\s*(create|alter|drop)\s/i;

interface Kept {
  statement: BetterSqlite3.Statement;
  /** A reader's column names, once read: null until its first row. */
  names: readonly string[] | null;
  /** What Kysely gets: for a reader, rows made objects here. */
  facade: SqliteStatement;
}

export function withJsRows(database: BetterSqlite3.Database): SqliteDatabase {
  const kept = new Map<string, Kept>();
  return {
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      const known = kept.get(sql);
      // A statement still being iterated (a stream) cannot run again: that one call gets its own.
      if (known && !known.statement.busy) return known.facade;
      const statement = database.prepare(sql);
      if (DDL.test(sql)) {
        kept.clear();
        return statement;
      }
      const entry: Kept = { statement, names: null, facade: statement };
      if (statement.reader) {
        statement.raw(true);
        entry.facade = readerFacade(entry);
      }
      if (!known) {
        if (kept.size >= MAX_KEPT) kept.clear();
        kept.set(sql, entry);
      }
      return entry.facade;
    },
  };
}

/** A reader whose rows come as arrays and leave as objects, its column names read once per width. */
function readerFacade(entry: Kept): SqliteStatement {
  const { statement } = entry;
  const columnsOf = (width: number): readonly string[] => {
    // A schema change (here or through another connection) recompiles the statement, and `select *`
    // may then give more columns: a row of another width reads the names again.
    if (entry.names?.length !== width) entry.names = statement.columns().map((c) => c.name);
    return entry.names;
  };
  return {
    reader: true,
    all(parameters) {
      const rows = statement.all(parameters) as unknown[][];
      if (!rows.length) return rows;
      const columns = columnsOf(rows[0]!.length);
      return rows.map((row) => toObject(columns, row));
    },
    run: (parameters) => statement.run(parameters),
    *iterate(parameters) {
      for (const row of statement.iterate(parameters) as IterableIterator<unknown[]>) {
        yield toObject(columnsOf(row.length), row);
      }
    },
  };
}

/** As better-sqlite3 makes it: each column assigned in order (so a column named __proto__ is no property). */
function toObject(columns: readonly string[], row: readonly unknown[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) object[columns[i]!] = row[i];
  return object;
}
