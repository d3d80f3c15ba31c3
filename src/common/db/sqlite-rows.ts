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
 * kept per SQL text: a schema change that adds columns gives the rows a new width and the names are
 * read again; DDL run here forgets them all. Stratus's migrations never rename or drop a column.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** SQL texts whose column names are kept; past this the cache starts again (IN lists vary in length). */
const MAX_KEPT = 2000;

const DDL = /^\s*(create|alter|drop)\s/i;

export function withJsRows(database: BetterSqlite3.Database): SqliteDatabase {
  const names = new Map<string, readonly string[]>();
  return {
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      const stmt = database.prepare(sql);
      if (!stmt.reader) {
        if (DDL.test(sql)) names.clear();
        return stmt;
      }
      stmt.raw(true);
      const columnsOf = (width: number): readonly string[] => {
        const kept = names.get(sql);
        if (kept?.length === width) return kept;
        const read = stmt.columns().map((c) => c.name);
        if (names.size >= MAX_KEPT) names.clear();
        names.set(sql, read);
        return read;
      };
      return {
        reader: true,
        all(parameters) {
          const rows = stmt.all(parameters) as unknown[][];
          if (!rows.length) return rows;
          const columns = columnsOf(rows[0]!.length);
          return rows.map((row) => toObject(columns, row));
        },
        run: (parameters) => stmt.run(parameters),
        *iterate(parameters) {
          for (const row of stmt.iterate(parameters) as IterableIterator<unknown[]>) {
            yield toObject(columnsOf(row.length), row);
          }
        },
      };
    },
  };
}

/** As better-sqlite3 makes it: each column assigned in order (so a column named __proto__ is no property). */
function toObject(columns: readonly string[], row: readonly unknown[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) object[columns[i]!] = row[i];
  return object;
}
