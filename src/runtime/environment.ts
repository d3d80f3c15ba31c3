/**
 * Opens what a service process needs from its configuration: the database (checked to be at this
 * code's schema version) and the message bus with an RPC client (bus.ts, apart so that a compute host,
 * which has no database, loads no database code). Failures name the cause and the fix.
 */
import type { Config } from '../common/config/load-config.ts';
import { openDatabase, type Database } from '../common/db/database.ts';
import { assertSchemaCurrent } from '../common/db/migrator.ts';

export async function openConfiguredDatabase(
  config: Config,
  options: { checkSchema?: boolean } = {},
): Promise<Database> {
  const database = await openDatabase(config.database.connection, {
    maxPoolSize: config.database.max_pool_size,
    maxRetries: config.database.max_retries,
    retryIntervalMs: config.database.retry_interval * 1000,
    checkpointInBackground: true,
  });
  if (options.checkSchema !== false) {
    try {
      await assertSchemaCurrent(database);
    } catch (err) {
      await database.close();
      throw err;
    }
  }
  return database;
}

export { connectBus, type Bus } from './bus.ts';
