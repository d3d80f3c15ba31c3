/**
 * SQLite's WAL checkpoints, run in a worker thread instead of inside the commits of the event loop.
 *
 * Why: SQLite copies the write-ahead log back into the database file (a checkpoint) from within the
 * commit that makes the log pass `wal_autocheckpoint` pages, and better-sqlite3 is synchronous, so that
 * commit's request waits for the copy and its fsync. In the scheduler benchmark one claim in about 82
 * paid 4.5 to 7 ms for it, which was the p99 of select_destinations (docs/benchmarks.md). A second
 * connection in a worker thread checkpoints every CHECKPOINT_INTERVAL_MS in PASSIVE mode, which waits
 * for no reader or writer; the process's own connection keeps a large automatic threshold as a safety
 * net (a log that never gets fully copied under constant writes is still bounded) and goes back to
 * SQLite's default if the worker stops.
 *
 * The worker is a V8 isolate of its own, about 15 MiB resident: only the services' own database gets
 * one (openConfiguredDatabase), not the many short-lived databases of tests.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { getLogger } from '../log/logger.ts';

const CHECKPOINT_INTERVAL_MS = 100;
/** The safety net: the process's connection checkpoints by itself past this many pages (about 40 MB). */
const SAFETY_NET_PAGES = 10_000;
/** SQLite's default threshold, restored when the worker is gone. */
const SQLITE_DEFAULT_PAGES = 1000;

const log = getLogger('db');

// Plain JavaScript run as the worker's script (eval): it needs no loader and works from src/ and dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage(String((err && err.message) || err));
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Stops the worker (after its current checkpoint) and leaves checkpoints to the connection again. */
  stop(): Promise<void>;
}

/** Starts checkpointing `path` (the file `database` has open, in WAL mode) in a worker thread. */
export function startCheckpointer(database: BetterSqlite3.Database, path: string): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, path, intervalMs: CHECKPOINT_INTERVAL_MS },
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 },
  });
  // A timer-driven helper must not keep a process alive that has nothing else to do.
  worker.unref();
  database.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  let stopping = false;
  const fallBack = (why: string) => {
    if (!database.open) return;
    database.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
    log.warn({ path, why }, 'the checkpoint thread stopped; commits checkpoint the database themselves again');
  };
  worker.on('message', (message: string) => log.warn({ path, err: message }, 'a background checkpoint failed'));
  worker.on('error', (err) => fallBack(err.message));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      if (!stopping) fallBack(`exit code ${code}`);
      resolve();
    }),
  );
  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      // Held again while it winds down: an unref'd worker's exit would not keep this await alive.
      worker.ref();
      worker.postMessage('stop');
      await exited;
      if (database.open) database.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
    },
  };
}
